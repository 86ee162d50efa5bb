/*
 * console.c: open a VM's serial console log for vm-manager (MSG_VM_CONSOLE_OPEN).
 *
 * libvirt creates `<serial><log file=.../>` files root:root 0600 (with virtlogd and
 * with stdio_handler "file" alike), and vm-manager runs as its own unprivileged user
 * with no capabilities. Rather than give that worker CAP_DAC_READ_SEARCH (every file
 * of the host) or change the files' modes behind libvirt's back, the supervisor, which
 * is root already, opens exactly one kind of file for it: a regular file directly in
 * the configured console_log_directory, named after a VM (`<name>.log`), read-only,
 * and passes the descriptor over the worker's socketpair. The worker keeps it while
 * the VM runs here and asks again only when the file is replaced (new inode).
 *
 * The file is opened in two steps so that nothing but a regular file with a single
 * name is ever really opened: O_PATH | O_NOFOLLOW (no symlink, no device open side
 * effects), fstat, and only then a read-only open through /proc/self/fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

/* The same rule as vm-manager's (workers/vm/console.c): nothing that leaves the
 * directory or hides in it. */
static int safe_name(const char *n, size_t len)
{
	return len > 0 && len < 100 && n[0] != '.' && memchr(n, '/', len) == NULL;
}

int sup_console_open_log(const char *dir, const char *name, size_t namelen, int *fdout)
{
	char path[CFG_PATH_MAX + 128], proc[64];
	struct stat st;
	int pfd, fd;

	if (!safe_name(name, namelen) || strlen(name) != namelen)
		return EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s.log", dir, name) >= (int)sizeof(path))
		return ENAMETOOLONG;
	pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return errno;
	if (fstat(pfd, &st) != 0) {
		int e = errno;
		close(pfd);
		return e;
	}
	/* A second name for the file (a hard link someone placed here to a root-only file
	 * elsewhere, where the kernel's protected_hardlinks is off) is refused: libvirt's
	 * logs have exactly one. */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(pfd);
		return EINVAL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	int e = errno;
	close(pfd);
	if (fd < 0)
		return e;
	*fdout = fd;
	return 0;
}

void sup_console_open(struct supervisor *sv, struct child *k, const struct ipc_msg *msg)
{
	struct ipc_strv in;
	struct ipc_strv_buf b;
	const uint8_t *data;
	size_t len;
	int fd = -1, err;

	if (k->role != ROLE_VM || ipc_strv_decode(msg->data, msg->hdr.len, &in, NULL) != 0)
		return;
	if (in.n != 1)
		err = EINVAL;
	else if (!sv->cfg.enable_hypervisor || sv->cfg.console_log_directory[0] == '\0')
		err = EPERM;
	else
		err = sup_console_open_log(sv->cfg.console_log_directory, in.v[0], in.lens[0],
					   &fd);
	strvb_init(&b);
	strvb_addn(&b, in.n >= 1 ? in.v[0] : "", in.n >= 1 ? in.lens[0] : 0);
	strvb_addf(&b, "%d", err);
	data = strvb_finish(&b, &len);
	if (data == NULL) {
		log_errx("console log for vm-manager: out of memory");
	} else if (k->chan.fd >= 0 && ipc_send(&k->chan, MSG_VM_CONSOLE_FD, ROLE_VM, data, len,
					       fd) == 0) {
		/* the channel holds its own duplicate until the frame is written */
		if (ipc_chan_flush(&k->chan) >= 0)
			sup_child_update_events(sv, k);
	} else {
		log_warnx("console log for vm-manager: cannot queue the reply");
	}
	if (fd >= 0)
		close(fd);
	strvb_free(&b);
	ipc_strv_free(&in);
}
