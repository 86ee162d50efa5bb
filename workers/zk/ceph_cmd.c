/*
 * ceph_cmd.c: the command pipes /cmd/domains (flush_locks) and /cmd/ceph (osd_add,
 * osd_remove) of the reference (VMInstance.run_command, CephInstance.run_command),
 * and the breaking of RBD locks for fence recovery. zk-election holds the watches
 * and the kazoo locks; the ceph worker, the only holder of the Ceph keyring, breaks
 * the locks (MSG_CEPH_CMD / MSG_CEPH_RESULT).
 *
 * The client's protocol (daemon-common vm.py flush_locks, ceph.py add_osd): it writes
 * "<command> <args>", sleeps 0.5 s, takes a kazoo read lock on the pipe and reads the
 * answer "success-<command> <args>" or "failure-<command> <args>". So the node that
 * acts takes a kazoo WRITE lock on the pipe at once (an ephemeral-sequential
 * "<uuid4 hex>__lock__" child), writes the answer under it and keeps it one second
 * (as the reference) so that the client's read lock queues behind it. The lock is
 * granted when no lower __lock__/__rlock__ child exists, checked by re-listing every
 * 100 ms (bounded: 30 s, then given up without an answer, as a reference node that
 * never got its lock).
 *
 * Who acts: flush_locks the primary (as the reference); osd_add the node named in
 * its arguments; osd_remove the node of /ceph/osds/<id>/node. osd_add and osd_remove
 * are answered `failure-` with the reason logged: creating or destroying an OSD takes
 * root-level device work (ceph-volume) that no pvcnoded worker is allowed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "strv.h"
#include "zk_acl.h"
#include "zk_internal.h"

#define CC_LOCK_POLL_MS 100
#define CC_LOCK_WAIT_MS 30000
#define CC_CEPH_WAIT_MS 30000 /* the ceph worker's own calls time out after 4 s each */
#define CC_HOLD_MS 1000       /* the reference keeps its lock 1 s after answering */
#define CC_FENCE_MAX 8
#define CC_CHUNK 32          /* volumes per MSG_CEPH_CMD (the ceph worker's job size) */
#define CC_FENCE_VOLS 1024   /* volumes of one fence recovery: 32 messages */
#define CC_ORPHANS 8

static const char *const pipes[2] = {"/cmd/domains", "/cmd/ceph"};

/* one fence recovery's lock breaking: its volumes go in chunks of CC_CHUNK, one
 * MSG_CEPH_CMD each ("<id>.<k>"), and cb runs once every chunk answered (or the
 * time is over) */
struct cc_fence {
	struct zk_ctx *z;
	char id[24];
	void (*cb)(struct zk_ctx *z, uint64_t arg, int ok, const char *detail);
	uint64_t arg;
	uint64_t timer;
	int pending, ok;
	char detail[1024];
};

struct zk_cephcmd {
	struct zk_ctx *z;
	uint64_t gen;       /* of the current command (0: none) */
	int pipe;           /* index in pipes */
	char data[256];     /* the command as written */
	char cmd[32], args[224];
	char prefix[33], lock[96];
	uint64_t timer, deadline;
	char req_id[24];    /* MSG_CEPH_CMD in flight for the current command */
	int rerun;          /* a watch fired while busy: read the pipe again after */
	uint64_t seq;
	struct cc_fence fence[CC_FENCE_MAX];
	/* our lock contenders not deleted (connection lost, lost answer): by prefix */
	struct { int pipe; char prefix[33]; } orphans[CC_ORPHANS];
	int norphans;
};

struct cc_tok {
	struct zk_ctx *z;
	uint64_t gen;
	int pipe;
	char prefix[33]; /* the command's contender prefix when the call was made */
};

static struct cc_tok *tok_new(struct zk_ctx *z, uint64_t gen, int pipe)
{
	struct cc_tok *t = malloc(sizeof(*t));

	if (t) {
		t->z = z;
		t->gen = gen;
		t->pipe = pipe;
		strlcpy_pvc(t->prefix, z->cephcmd ? z->cephcmd->prefix : "", sizeof(t->prefix));
	}
	return t;
}

/* ---- contenders left behind ----------------------------------------------------- */

/* A contender we could not delete (connection down, a lost answer, a create whose
 * answer was lost) lives as long as our session, which survives a disconnection:
 * every later lock on that pipe, ours and the clients' (their read lock queues
 * behind it), would wait for it. So it is remembered by its random prefix and
 * looked for once the session is back (as fence_lock.c's orphans). */
static void orphan_add(struct zk_ctx *z, int pipe, const char *prefix)
{
	struct zk_cephcmd *c = z->cephcmd;

	if (z->closing || prefix[0] == '\0')
		return;
	for (int i = 0; i < c->norphans; i++)
		if (strcmp(c->orphans[i].prefix, prefix) == 0)
			return;
	if (c->norphans >= CC_ORPHANS) {
		log_warnx("ceph command: lock contender %s/%s* left to expire with the session "
			  "(too many to clean up)", pipes[pipe], prefix);
		return;
	}
	c->orphans[c->norphans].pipe = pipe;
	strlcpy_pvc(c->orphans[c->norphans].prefix, prefix, sizeof(c->orphans[0].prefix));
	c->norphans++;
	log_warnx("ceph command: lock contender %s/%s* not removed yet: looked for again "
		  "after reconnecting", pipes[pipe], prefix);
}

static void orphan_delete_done(int rc, const void *data)
{
	const struct cc_tok *t = data;

	if (rc != ZOK && rc != ZNONODE && rc != ZCLOSING)
		orphan_add(t->z, t->pipe, t->prefix);
	free((void *)data);
}

static void orphan_children_done(int rc, const struct String_vector *sv, const void *data)
{
	const struct cc_tok *t = data;
	struct zk_ctx *z = t->z;

	if (rc == ZOK && !z->closing) {
		for (int i = 0; sv && i < sv->count; i++) {
			char path[320];
			struct cc_tok *d;

			if (sv->data[i] == NULL || strncmp(sv->data[i], t->prefix, 32) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", pipes[t->pipe], sv->data[i]);
			if ((d = malloc(sizeof(*d))) != NULL)
				*d = *t;
			if (d == NULL || !zk_session_usable(z) ||
			    zoo_adelete(z->zh, path, -1, orphan_delete_done, d) != ZOK) {
				free(d);
				orphan_add(z, t->pipe, t->prefix);
			} else
				log_info("ceph command: deleting the lock contender %s left behind", path);
		}
	} else if (rc != ZNONODE && rc != ZCLOSING) {
		orphan_add(z, t->pipe, t->prefix);
	}
	free((void *)data);
}

static void orphans_sweep(struct zk_ctx *z)
{
	struct zk_cephcmd *c = z->cephcmd;
	int n = c->norphans;

	c->norphans = 0;
	for (int i = 0; i < n; i++) {
		struct cc_tok *t = tok_new(z, 0, c->orphans[i].pipe);
		if (t)
			strlcpy_pvc(t->prefix, c->orphans[i].prefix, sizeof(t->prefix));
		if (t == NULL || !zk_session_usable(z) ||
		    zoo_aget_children(z->zh, pipes[t->pipe], 0, orphan_children_done, t) != ZOK) {
			if (t)
				orphan_add(z, t->pipe, t->prefix); /* re-added: next time */
			free(t);
		}
	}
}

/* the state if the completion still belongs to the current command */
static struct zk_cephcmd *tok_cur(const void *data, struct zk_ctx **zp)
{
	const struct cc_tok *t = data;
	struct zk_cephcmd *c = t->z->cephcmd;

	*zp = t->z;
	if (t->z->closing || c == NULL || c->gen == 0 || c->gen != t->gen)
		return NULL;
	return c;
}

static void read_pipe(struct zk_ctx *z, int pipe);

static void cmd_end(struct zk_ctx *z, struct zk_cephcmd *c)
{
	int again = c->rerun, pipe = c->pipe;

	if (c->timer)
		ev_timer_cancel(z->loop, c->timer);
	c->timer = 0;
	c->gen = 0;
	c->lock[0] = c->prefix[0] = c->req_id[0] = '\0';
	c->rerun = 0;
	if (again)
		read_pipe(z, pipe);
}

static void release_done(int rc, const void *data)
{
	struct zk_ctx *z = ((const struct cc_tok *)data)->z;
	struct zk_cephcmd *c = tok_cur(data, &z);

	if (rc != ZOK && rc != ZNONODE && rc != ZCLOSING) {
		const struct cc_tok *t = data;

		log_warnx("ceph command: cannot delete the lock contender on %s: %s",
			  pipes[t->pipe], zk_session_err(rc));
		orphan_add(z, t->pipe, t->prefix);
	}
	free((void *)data);
	if (c)
		cmd_end(z, c);
}

/* delete our contender (if any), then end */
static void release(struct zk_ctx *z, struct zk_cephcmd *c)
{
	char path[320];
	struct cc_tok *t;

	if (c->lock[0] == '\0') {
		cmd_end(z, c);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", pipes[c->pipe], c->lock);
	t = tok_new(z, c->gen, c->pipe);
	if (t == NULL || !zk_session_usable(z) ||
	    zoo_adelete(z->zh, path, -1, release_done, t) != ZOK) {
		/* ephemeral, but our session may outlive the disconnection */
		free(t);
		orphan_add(z, c->pipe, c->prefix);
		cmd_end(z, c);
	}
}

static void hold_over(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;
	struct zk_cephcmd *c = z->cephcmd;

	c->timer = 0;
	release(z, c);
}

static void answer_done(int rc, const struct Stat *st, const void *data)
{
	struct zk_ctx *z;
	struct zk_cephcmd *c = tok_cur(data, &z);

	free((void *)data);
	if (c == NULL)
		return;
	if (rc != ZOK)
		log_warnx("ceph command: cannot write the answer to %s: %s", pipes[c->pipe],
			  zk_session_err(rc));
	c->timer = ev_timer(z->loop, CC_HOLD_MS, hold_over, z);
	if (c->timer == 0)
		release(z, c);
}

static void answer(struct zk_ctx *z, struct zk_cephcmd *c, int ok, const char *why)
{
	char val[300];
	struct cc_tok *t;

	snprintf(val, sizeof(val), "%s-%s", ok ? "success" : "failure", c->data);
	if (ok)
		log_ok("ceph command: %s: done%s%s", c->data, why ? ": " : "", why ? why : "");
	else
		log_errx("ceph command: %s: failed: %s", c->data, why ? why : "?");
	if (c->timer)
		ev_timer_cancel(z->loop, c->timer);
	c->timer = 0;
	c->req_id[0] = '\0';
	t = tok_new(z, c->gen, c->pipe);
	if (t == NULL || !zk_session_usable(z) ||
	    zoo_aset(z->zh, pipes[c->pipe], val, (int)strlen(val), -1,
		     answer_done, t) != ZOK) {
		free(t);
		release(z, c);
	}
}


/* ---- the ceph worker ------------------------------------------------------------ */

static void ceph_wait_over(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;
	struct zk_cephcmd *c = z->cephcmd;

	c->timer = 0;
	answer(z, c, 0, "the ceph worker did not answer in time");
}

static int ceph_send(struct zk_ctx *z, const char *id, const char *const *images, int n)
{
	const char *v[2 + 32];

	if (n > 32)
		return -1;
	v[0] = id;
	v[1] = "flush_locks";
	for (int i = 0; i < n; i++)
		v[2 + i] = images[i];
	return worker_send_strv(z->w, MSG_CEPH_CMD, ROLE_CEPH, v, (uint32_t)(2 + n));
}

/* "pool/vol,pool/vol" -> pointers into buf; empty entries skipped (the reference's
 * `''.split(',')` gives one empty name, whose lock listing fails and is skipped) */
static int split_rbdlist(char *buf, const char **out, int max)
{
	int n = 0;

	for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
		if (*p && n < max)
			out[n++] = p;
		else if (*p)
			return -1;
	return n;
}

static void rbdlist_done(int rc, const char *value, int len, const struct Stat *st,
			 const void *data)
{
	struct zk_ctx *z;
	struct zk_cephcmd *c = tok_cur(data, &z);
	char buf[4096];
	const char *img[32];
	int n;

	free((void *)data);
	if (c == NULL)
		return;
	if (rc == ZNONODE || (rc == ZOK && len <= 0)) {
		answer(z, c, 1, "the VM has no RBD volumes");
		return;
	}
	if (rc != ZOK || len >= (int)sizeof(buf)) {
		answer(z, c, 0, rc != ZOK ? zk_session_err(rc) : "rbdlist too long");
		return;
	}
	memcpy(buf, value, (size_t)len);
	buf[len] = '\0';
	n = split_rbdlist(buf, img, 32);
	if (n <= 0) {
		answer(z, c, n == 0, n == 0 ? "the VM has no RBD volumes" : "too many volumes");
		return;
	}
	if (!z->cfg->enable_storage) {
		answer(z, c, 0, "this node has no ceph worker (enable_storage is off)");
		return;
	}
	snprintf(c->req_id, sizeof(c->req_id), "c%llu", (unsigned long long)++c->seq);
	/* the timer first: a command sent must have its bound */
	c->timer = ev_timer(z->loop, CC_CEPH_WAIT_MS, ceph_wait_over, z);
	if (c->timer == 0) {
		answer(z, c, 0, "cannot start a timer (out of memory)");
		return;
	}
	if (ceph_send(z, c->req_id, img, n) != 0) {
		answer(z, c, 0, "cannot reach the ceph worker");
		return;
	}
}

/* under the lock */
static void run(struct zk_ctx *z, struct zk_cephcmd *c)
{
	char path[320];
	struct cc_tok *t;

	if (strcmp(c->cmd, "flush_locks") != 0) {
		answer(z, c, 0,
		       "pvcnoded does not create or remove OSDs: that needs root-level device "
		       "work (ceph-volume) no worker is allowed; use ceph-volume on the node");
		return;
	}
	snprintf(path, sizeof(path), "/domains/%s/rbdlist", c->args);
	t = tok_new(z, c->gen, c->pipe);
	if (t == NULL || !zk_session_usable(z) ||
	    zoo_aget(z->zh, path, 0, rbdlist_done, t) != ZOK) {
		free(t);
		answer(z, c, 0, "cannot read the VM's rbdlist");
	}
}

/* ---- the kazoo write lock -------------------------------------------------------- */

static void lock_check(struct zk_ctx *z, struct zk_cephcmd *c);

static void poll_again(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;
	struct zk_cephcmd *c = z->cephcmd;

	c->timer = 0;
	lock_check(z, c);
}

static void children_done(int rc, const struct String_vector *sv, const void *data)
{
	struct zk_ctx *z;
	struct zk_cephcmd *c = tok_cur(data, &z);
	uint32_t mine = 0, s;
	int found = 0, lower = 0;

	free((void *)data);
	if (c == NULL)
		return;
	if (rc != ZOK) {
		log_warnx("ceph command: cannot list the lock of %s: %s", pipes[c->pipe],
			  zk_session_err(rc));
		release(z, c);
		return;
	}
	if (zk_values_contender(c->lock, &mine) == 0) {
		release(z, c);
		return;
	}
	for (int i = 0; sv && i < sv->count; i++) {
		if (sv->data[i] == NULL || zk_values_contender(sv->data[i], &s) == 0)
			continue;
		if (strcmp(sv->data[i], c->lock) == 0)
			found = 1;
		else if (s < mine)
			lower = 1;
	}
	if (!found) {
		log_warnx("ceph command: own lock contender on %s vanished", pipes[c->pipe]);
		c->lock[0] = '\0';
		cmd_end(z, c);
		return;
	}
	if (!lower) {
		run(z, c);
		return;
	}
	if (mono_ms() >= c->deadline) {
		log_errx("ceph command: %s: the lock of %s was not granted in %d s: not run",
			 c->data, pipes[c->pipe], CC_LOCK_WAIT_MS / 1000);
		release(z, c);
		return;
	}
	c->timer = ev_timer(z->loop, CC_LOCK_POLL_MS, poll_again, z);
	if (c->timer == 0)
		release(z, c);
}

static void lock_check(struct zk_ctx *z, struct zk_cephcmd *c)
{
	struct cc_tok *t = tok_new(z, c->gen, c->pipe);

	if (t == NULL || !zk_session_usable(z) ||
	    zoo_aget_children(z->zh, pipes[c->pipe], 0, children_done, t) != ZOK) {
		free(t);
		release(z, c);
	}
}

static void create_done(int rc, const char *name, const void *data)
{
	struct zk_ctx *z;
	struct zk_cephcmd *c = tok_cur(data, &z);
	const struct cc_tok *t = data;
	const char *slash;

	/* a create whose answer was lost may have created the contender; one created
	 * for a command that ended meanwhile is nobody's: both looked for by prefix */
	if ((rc != ZOK && rc != ZCLOSING && rc != ZNODEEXISTS) || (rc == ZOK && c == NULL))
		orphan_add(z, t->pipe, t->prefix);
	free((void *)data);
	if (c == NULL)
		return;
	if (rc != ZOK || name == NULL || (slash = strrchr(name, '/')) == NULL) {
		log_warnx("ceph command: cannot create the lock contender on %s: %s",
			  pipes[c->pipe], zk_session_err(rc));
		cmd_end(z, c);
		return;
	}
	strlcpy_pvc(c->lock, slash + 1, sizeof(c->lock));
	lock_check(z, c);
}

static void start(struct zk_ctx *z, struct zk_cephcmd *c, int pipe, const char *data)
{
	unsigned char rnd[16];
	char path[320];
	struct cc_tok *t;

	if (c->norphans)
		orphans_sweep(z); /* a failed delete without a reconnection since */
	c->gen = ++c->seq;
	c->pipe = pipe;
	strlcpy_pvc(c->data, data, sizeof(c->data));
	c->deadline = mono_ms() + CC_LOCK_WAIT_MS;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_warn("getrandom");
		cmd_end(z, c);
		return;
	}
	/* a UUID4 as kazoo makes it: version and variant bits set */
	rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
	rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++)
		snprintf(c->prefix + 2 * i, 3, "%02x", rnd[i]);
	log_info("ceph command: %s (from %s)", c->data, pipes[pipe]);
	snprintf(path, sizeof(path), "%s/%s__lock__", pipes[pipe], c->prefix);
	t = tok_new(z, c->gen, pipe);
	if (t == NULL || !zk_session_usable(z) ||
	    zoo_acreate(z->zh, path, z->cfg->node_name, (int)strlen(z->cfg->node_name),
			zk_acl_create(z), ZOO_EPHEMERAL | ZOO_SEQUENCE, create_done, t) != ZOK) {
		free(t);
		cmd_end(z, c);
	}
}

/* ---- the pipes -------------------------------------------------------------------- */

static void osd_node_done(int rc, const char *value, int len, const struct Stat *st,
			  const void *data)
{
	struct zk_ctx *z;
	struct zk_cephcmd *c = tok_cur(data, &z);
	size_t n;

	free((void *)data);
	if (c == NULL)
		return;
	n = strlen(z->cfg->node_name);
	if (rc == ZOK && len == (int)n && memcmp(value, z->cfg->node_name, n) == 0) {
		start(z, c, c->pipe, c->data);
		return;
	}
	cmd_end(z, c); /* another node's OSD (or none): its node answers */
}

/* A command read from a pipe: act if it is this node's to run (the reference). */
static void consider(struct zk_ctx *z, struct zk_cephcmd *c, int pipe, const char *data)
{
	char cmd[32], args[224], extra[2];
	int primary = z->net_want == 1 && z->net_have == 1;

	/* the reference's `command, args = data.split()`: exactly two words */
	if (sscanf(data, "%31s %223s %1s", cmd, args, extra) != 2)
		return;
	if (strncmp(cmd, "success-", 8) == 0 || strncmp(cmd, "failure-", 8) == 0)
		return;
	strlcpy_pvc(c->cmd, cmd, sizeof(c->cmd));
	strlcpy_pvc(c->args, args, sizeof(c->args));
	if (pipe == 0 && strcmp(cmd, "flush_locks") == 0) {
		if (primary && zk_values_uuid(args))
			start(z, c, pipe, data);
		return;
	}
	if (pipe == 1 && strcmp(cmd, "osd_add") == 0) {
		size_t n = strlen(z->cfg->node_name);
		if (strncmp(args, z->cfg->node_name, n) == 0 && args[n] == ',')
			start(z, c, pipe, data);
		return;
	}
	if (pipe == 1 && strcmp(cmd, "osd_remove") == 0 && args[strspn(args, "0123456789")] == '\0') {
		char path[320];
		struct cc_tok *t;

		c->gen = ++c->seq;
		c->pipe = pipe;
		strlcpy_pvc(c->data, data, sizeof(c->data));
		snprintf(path, sizeof(path), "/ceph/osds/%s/node", args);
		t = tok_new(z, c->gen, pipe);
		if (t == NULL || !zk_session_usable(z) ||
		    zoo_aget(z->zh, path, 0, osd_node_done, t) != ZOK) {
			free(t);
			cmd_end(z, c);
		}
	}
}

static void pipe_done(int rc, const char *value, int len, const struct Stat *st,
		      const void *data)
{
	const struct cc_tok *t = data;
	struct zk_ctx *z = t->z;
	struct zk_cephcmd *c = z->cephcmd;
	int pipe = t->pipe;
	char buf[256];

	free((void *)data);
	if (z->closing || c == NULL || rc != ZOK || len <= 0 || len >= (int)sizeof(buf))
		return;
	if (c->gen != 0) {
		c->rerun = 1; /* one command at a time: looked at again afterwards */
		return;
	}
	memcpy(buf, value, (size_t)len);
	buf[len] = '\0';
	consider(z, c, pipe, buf);
}

static void read_pipe(struct zk_ctx *z, int pipe)
{
	struct cc_tok *t = tok_new(z, 0, pipe);

	if (t == NULL || !zk_session_usable(z) ||
	    zoo_awget(z->zh, pipes[pipe], zk_session_path_watcher, z, pipe_done, t) != ZOK) {
		free(t);
		log_warnx("ceph command: cannot watch %s", pipes[pipe]);
	}
}

int zk_ceph_cmd_init(struct zk_ctx *z)
{
	z->cephcmd = calloc(1, sizeof(*z->cephcmd));
	if (z->cephcmd == NULL)
		return -1;
	z->cephcmd->z = z;
	return 0;
}

void zk_ceph_cmd_connected(struct zk_ctx *z, int new_session)
{
	struct zk_cephcmd *c = z->cephcmd;

	/* a new session lost our ephemeral contenders and any command in progress; the
	 * same session kept those we could not delete: deleted now */
	if (new_session) {
		c->norphans = 0;
		if (c->gen) {
			c->lock[0] = '\0';
			cmd_end(z, c);
		}
	} else {
		orphans_sweep(z);
	}
	/* the reference watches /cmd/domains on hypervisors, /cmd/ceph on storage nodes */
	if (z->cfg->enable_hypervisor)
		read_pipe(z, 0);
	if (z->cfg->enable_storage)
		read_pipe(z, 1);
}

int zk_ceph_cmd_watch(struct zk_ctx *z, const char *path)
{
	for (int i = 0; i < 2; i++)
		if (strcmp(path, pipes[i]) == 0) {
			read_pipe(z, i);
			return 1;
		}
	return 0;
}

/* ---- RBD locks for fence recovery ------------------------------------------------ */

static void fence_clear(struct cc_fence *f)
{
	f->cb = NULL;
	f->id[0] = '\0';
	f->pending = 0;
}

static void fence_timeout(struct ev_loop *loop, void *arg)
{
	struct cc_fence *f = arg;
	struct zk_ctx *z = f->z;
	void (*cb)(struct zk_ctx *, uint64_t, int, const char *) = f->cb;
	uint64_t a = f->arg;
	char d[sizeof(f->detail) + 64];

	snprintf(d, sizeof(d), "the ceph worker did not answer in time%s%s%s",
		 f->detail[0] ? " (answers so far: " : "", f->detail, f->detail[0] ? ")" : "");
	f->timer = 0;
	fence_clear(f);
	if (cb)
		cb(z, a, 0, d);
}

/* one chunk's answer into the recovery's; cb when it was the last */
static void fence_chunk_done(struct zk_ctx *z, struct cc_fence *f, int ok, const char *detail)
{
	void (*cb)(struct zk_ctx *, uint64_t, int, const char *) = f->cb;
	uint64_t a = f->arg;
	size_t l = strlen(f->detail);
	char d[sizeof(f->detail)];

	if (!ok)
		f->ok = 0;
	if (l < sizeof(f->detail) - 1)
		snprintf(f->detail + l, sizeof(f->detail) - l, "%s%s", l ? "; " : "", detail);
	if (--f->pending > 0)
		return;
	if (f->timer)
		ev_timer_cancel(z->loop, f->timer);
	f->timer = 0;
	memcpy(d, f->detail, sizeof(d));
	ok = f->ok;
	fence_clear(f);
	cb(z, a, ok, d);
}

int zk_ceph_cmd_flush(struct zk_ctx *z, const char *rbdlists,
		      void (*cb)(struct zk_ctx *z, uint64_t arg, int ok, const char *detail),
		      uint64_t arg)
{
	struct zk_cephcmd *c = z->cephcmd;
	char *buf = strdup(rbdlists);
	const char **img = calloc(CC_FENCE_VOLS, sizeof(*img));
	struct cc_fence *f = NULL;
	int n, chunks, rc = -1;

	if (buf == NULL || img == NULL)
		goto out;
	n = split_rbdlist(buf, img, CC_FENCE_VOLS);
	for (int i = 0; i < CC_FENCE_MAX && f == NULL; i++)
		if (c->fence[i].cb == NULL)
			f = &c->fence[i];
	if (n <= 0 || f == NULL || !z->cfg->enable_storage) {
		rc = n == 0 ? 1 : -1;
		goto out;
	}
	chunks = (n + CC_CHUNK - 1) / CC_CHUNK;
	/* the ceph worker runs the chunks one after the other: each has the bound of one
	 * command; the timer first, so that every chunk sent has its bound */
	f->timer = ev_timer(z->loop, (uint64_t)CC_CEPH_WAIT_MS * (uint64_t)chunks, fence_timeout, f);
	if (f->timer == 0) {
		log_errx("ceph: cannot start the timer of an RBD lock flush (out of memory)");
		goto out;
	}
	snprintf(f->id, sizeof(f->id), "f%llu", (unsigned long long)++c->seq);
	f->z = z;
	f->cb = cb;
	f->arg = arg;
	f->ok = 1;
	f->pending = 0;
	f->detail[0] = '\0';
	for (int k = 0; k < chunks; k++) {
		char id[40];
		int m = n - k * CC_CHUNK < CC_CHUNK ? n - k * CC_CHUNK : CC_CHUNK;

		snprintf(id, sizeof(id), "%s.%d", f->id, k);
		if (ceph_send(z, id, img + k * CC_CHUNK, m) != 0) {
			/* the chunks sent answer; the others count as failed */
			f->ok = 0;
			snprintf(f->detail, sizeof(f->detail), "%d of %d volume(s) not sent to the "
				 "ceph worker", n - k * CC_CHUNK, n);
			break;
		}
		f->pending++;
	}
	if (f->pending == 0) {
		ev_timer_cancel(z->loop, f->timer);
		f->timer = 0;
		fence_clear(f);
		goto out;
	}
	rc = 0;
out:
	free(img);
	free(buf);
	return rc;
}

/* MSG_CEPH_RESULT [id, success|failure, detail] from the ceph worker */
void zk_ceph_cmd_result(struct zk_ctx *z, struct ipc_msg *msg)
{
	struct zk_cephcmd *c = z->cephcmd;
	struct ipc_strv sv;
	const char *err = NULL;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0 || sv.n != 3) {
		log_warnx("ceph: malformed CEPH_RESULT%s%s", err ? ": " : "", err ? err : "");
		if (err == NULL)
			ipc_strv_free(&sv);
		return;
	}
	if (c->gen && c->req_id[0] && strcmp(sv.v[0], c->req_id) == 0) {
		answer(z, c, strcmp(sv.v[1], "success") == 0, sv.v[2]);
	} else {
		for (int i = 0; i < CC_FENCE_MAX; i++) {
			struct cc_fence *f = &c->fence[i];
			size_t l = strlen(f->id);

			/* "<id>.<chunk>" */
			if (f->cb == NULL || l == 0 || strncmp(f->id, sv.v[0], l) != 0 ||
			    sv.v[0][l] != '.')
				continue;
			fence_chunk_done(z, f, strcmp(sv.v[1], "success") == 0, sv.v[2]);
			break;
		}
	}
	ipc_strv_free(&sv);
}
