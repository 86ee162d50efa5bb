/*
 * console.c: serial console log capture into /domains/<uuid>/consolelog (ref §5.8).
 *
 * One 1 s tick for all VMs running here (not a thread per VM as the reference),
 * armed only while at least one of them runs: an idle node never wakes for it.
 * Memory stays bounded: only the last CONSOLE_READ_MAX bytes of a file are read,
 * and what was uploaded is remembered by hash, not by copy. Invalid UTF-8 (and NUL,
 * which an IPC string cannot carry) becomes U+FFFD instead of crashing the reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pvc.h"
#include "vm_domain.h"

#define CONSOLE_READ_MAX (256 * 1024) /* x3 worst-case expansion stays below IPC_MAX_PAYLOAD */
#define CONSOLE_TICK_MS 1000

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t need;
	unsigned min;

	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, min = 0x10000;
	else
		return 0;
	if (n < need)
		return 0;
	unsigned cp = c & (0xff >> (need + 1));
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

char *vm_console_tail(const char *buf, size_t len, int partial, int lines, size_t *outlen)
{
	size_t start = 0, o = 0;
	int count = 0;
	char *out;

	if (partial) {
		/* the read began mid-file: its first line is incomplete */
		const char *nl = memchr(buf, '\n', len);
		start = nl ? (size_t)(nl - buf) + 1 : len;
	}
	/* walk back over `lines` newline-terminated lines (a last unterminated one counts) */
	if (lines > 0 && len > start) {
		size_t i = len;
		if (buf[len - 1] == '\n')
			i--;
		while (i > start) {
			if (buf[i - 1] == '\n' && ++count == lines)
				break;
			i--;
		}
		start = i;
	} else {
		start = len;
	}
	out = malloc((len - start) * 3 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = start; i < len;) {
		size_t l = utf8_len((const unsigned char *)buf + i, len - i);
		if (l == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, buf + i, l);
			o += l;
			i += l;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* A VM name becomes a file name: nothing that could leave the directory. */
static int safe_name(const char *n)
{
	return n[0] && n[0] != '.' && strchr(n, '/') == NULL && strlen(n) < 100;
}

/*
 * The log exists but this user may not read it (libvirt creates serial logs
 * root:root 0600): a duplicate of the descriptor the supervisor opened for us, if we
 * hold one for the file now at `path`; otherwise ask for it (once per file: a refusal
 * is not asked again until the file is replaced) and skip this tick. stat() needs no
 * read permission, so a replaced file (new inode) is noticed.
 */
static int privileged_open(struct vmm *m, struct vm_rec *r, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		vm_record_console_drop(r);
		return -1;
	}
	if (r->con.have_fd && r->con.fd_dev == (uint64_t)st.st_dev &&
	    r->con.fd_ino == (uint64_t)st.st_ino)
		return fcntl(r->con.fd, F_DUPFD_CLOEXEC, 0);
	vm_record_console_drop(r);
	if (r->con.asked_dev == (uint64_t)st.st_dev && r->con.asked_ino == (uint64_t)st.st_ino)
		return -1; /* asked already: answer pending, or refused */
	{
		const char *v[1] = {r->name};
		if (worker_send_strv(m->w, MSG_VM_CONSOLE_OPEN, ROLE_SUPERVISOR, v, 1) != 0)
			return -1;
	}
	r->con.asked = 1;
	r->con.asked_dev = (uint64_t)st.st_dev;
	r->con.asked_ino = (uint64_t)st.st_ino;
	return -1;
}

void vm_console_fd(struct vmm *m, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	struct vm_rec *r = NULL;
	struct stat st;
	long long err;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, NULL) != 0)
		return;
	if (sv.n != 2 || parse_ll(sv.v[1], 0, 0x7fffffff, &err) != 0) {
		log_warnx("malformed console log answer from the supervisor");
		ipc_strv_free(&sv);
		return;
	}
	for (size_t i = 0; i < m->nrecs && r == NULL; i++)
		if (m->recs[i]->con.asked && strcmp(m->recs[i]->name, sv.v[0]) == 0)
			r = m->recs[i];
	if (r == NULL) {
		ipc_strv_free(&sv); /* gone meanwhile: the fd is closed with msg */
		return;
	}
	r->con.asked = 0;
	if (err != 0 || msg->fd < 0) {
		log_warnx("vm %s: console log: the supervisor cannot open it: %s", r->name,
			  strerror(err ? (int)err : EBADF));
	} else if (fstat(msg->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		vm_record_console_drop(r);
		r->con.fd = msg->fd;
		r->con.have_fd = 1;
		r->con.fd_dev = (uint64_t)st.st_dev;
		r->con.fd_ino = (uint64_t)st.st_ino;
		msg->fd = -1; /* ours now */
	}
	ipc_strv_free(&sv);
}

static void console_check(struct vmm *m, struct vm_rec *r)
{
	char path[CFG_PATH_MAX + VM_NAME_MAX + 8], *buf, *text, cpath[128];
	struct stat st;
	size_t want, got = 0, tlen;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.log", m->cfg->console_log_directory, r->name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == EACCES)
		fd = privileged_open(m, r, path);
	if (fd < 0)
		return; /* no console log configured for this VM (or not readable yet) */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if (r->con.uploaded && st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec ==
	    r->con.mtime_ns && st.st_size == r->con.size) {
		close(fd);
		return;
	}
	want = st.st_size > CONSOLE_READ_MAX ? CONSOLE_READ_MAX : (size_t)st.st_size;
	buf = malloc(want + 1);
	if (buf == NULL || lseek(fd, st.st_size - (off_t)want, SEEK_SET) < 0) {
		free(buf);
		close(fd);
		return;
	}
	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	text = vm_console_tail(buf, got, st.st_size > (off_t)want, m->cfg->console_log_lines, &tlen);
	free(buf);
	if (text == NULL)
		return;
	r->con.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	r->con.size = st.st_size;
	if (!r->con.uploaded || fnv1a(text, tlen) != r->con.hash) {
		const char *args[3] = {"set", cpath, text};
		snprintf(cpath, sizeof(cpath), "/domains/%s/consolelog", r->uuid);
		if (m->ops->zk_send(m, r, ZK_K_CONSOLE, MSG_ZK_WRITE, args, 3) == 0) {
			r->con.inflight = 1;
			r->con.hash = fnv1a(text, tlen);
		}
	}
	r->con.uploaded = 1;
	free(text);
}

void vm_console_reply(struct vmm *m, struct vm_rec *r, int rc)
{
	r->con.inflight = 0;
	if (rc != 0) {
		/* not again every second: the next change of the file uploads anew */
		r->con.hash = 0;
		log_warnx("vm %s: console log upload failed (rc %d)", r->name, rc);
	}
}

static int captured(const struct vmm *m, const struct vm_rec *r)
{
	return r->known && r->lv == LV_RUNNING && vm_record_owner(m, r) && safe_name(r->name);
}

static int enabled(const struct vmm *m)
{
	return m->cfg->console_log_lines > 0 && m->cfg->console_log_directory[0] != '\0';
}

static int any_captured(const struct vmm *m)
{
	for (size_t i = 0; i < m->nrecs; i++)
		if (captured(m, m->recs[i]))
			return 1;
	return 0;
}

static void tick_cb(struct ev_loop *loop, void *arg)
{
	struct vmm *m = arg;

	m->console_timer = 0;
	for (size_t i = 0; i < m->nrecs; i++) {
		struct vm_rec *r = m->recs[i];
		if (captured(m, r) && !r->con.inflight)
			console_check(m, r);
	}
	vm_console_update(m);
}

void vm_console_update(struct vmm *m)
{
	/* a VM no longer captured here (stopped, migrated away) keeps no descriptor */
	for (size_t i = 0; i < m->nrecs; i++) {
		struct vm_rec *r = m->recs[i];
		if ((r->con.have_fd || r->con.asked_ino) && !captured(m, r)) {
			vm_record_console_drop(r);
			r->con.asked_dev = r->con.asked_ino = 0;
		}
	}
	if (m->console_timer || !enabled(m) || !any_captured(m))
		return;
	m->console_timer = ev_timer(m->w->loop, CONSOLE_TICK_MS, tick_cb, m);
	if (m->console_timer == 0)
		log_errx("console capture: out of timers");
}
