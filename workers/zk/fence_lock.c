/*
 * fence_lock.c: the kazoo-compatible WRITE lock on /nodes/<node>/daemonstate
 * (ref §0.5, §4.4) and the marking of a dead node under it.
 *
 * Contender: ephemeral-sequential `<32 hex>__lock__<10 digits>` (data: our node
 * name). A write lock is granted when no `__lock__` or `__rlock__` contender with a
 * smaller sequence exists; we watch the closest smaller one. Under the lock the
 * daemon state is re-read and `dead` written only over `run`, with a version check:
 * so exactly one coordinator starts the fence of a node, and never over a node
 * that has just written `run` again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "zk_acl.h"
#include "zk_fence_int.h"

struct tok {
	struct zk_ctx *z;
	uint64_t gen;
};

static struct tok *tok_new(struct zk_ctx *z, struct zf_job *j)
{
	struct tok *t = malloc(sizeof(*t));

	if (t) {
		t->z = z;
		t->gen = j->gen;
	}
	return t;
}

/* The job a completion belongs to, or NULL (ended meanwhile, or closing). */
static struct zf_job *tok_job(const void *data, struct zk_ctx **zp)
{
	const struct tok *t = data;
	struct zf_job *j;

	*zp = t->z;
	if (t->z->closing)
		return NULL;
	j = zk_fence_util_job_find(t->z, t->gen);
	return j;
}

static void ds_path(const struct zf_job *j, char *buf, size_t size)
{
	snprintf(buf, size, "/nodes/%s/daemonstate", j->node);
}

static void lock_list(struct zk_ctx *z, struct zf_job *j);

/* ---- release ----------------------------------------------------------------------- */

/* A contender we could not remove (connection down, lost answer) stays while our
 * session lives, and a session that survives a disconnection lives on: every
 * later write lock on that daemonstate, ours and the other coordinators', would
 * wait behind it and time out, and the node would never be fenced. So it is
 * remembered by its random prefix and removed after the next committed keepalive. */
static void orphan_add(struct zk_ctx *z, const char *dir, const char *prefix)
{
	struct zk_fence *f = z->fence;

	if (z->closing || prefix[0] == '\0')
		return;
	for (int i = 0; i < f->norphans; i++)
		if (strcmp(f->orphans[i].prefix, prefix) == 0)
			return;
	if (f->norphans >= ZF_ORPHANS) {
		log_warnx("fence: lock contender %s/%s* left to expire with the session "
			  "(too many to clean up)", dir, prefix);
		return;
	}
	strlcpy_pvc(f->orphans[f->norphans].dir, dir, sizeof(f->orphans[0].dir));
	strlcpy_pvc(f->orphans[f->norphans].prefix, prefix, sizeof(f->orphans[0].prefix));
	f->norphans++;
	log_warnx("fence: lock contender %s/%s* not removed yet: retried after the next "
		  "keepalive", dir, prefix);
}

struct rel {
	struct zk_ctx *z;
	char dir[ZF_PATH];
	char prefix[33];
};

static struct rel *rel_new(struct zk_ctx *z, const char *dir, const char *prefix)
{
	struct rel *r = calloc(1, sizeof(*r));

	if (r) {
		r->z = z;
		strlcpy_pvc(r->dir, dir, sizeof(r->dir));
		strlcpy_pvc(r->prefix, prefix, sizeof(r->prefix));
	}
	return r;
}

static void rel_delete_done(int rc, const void *data)
{
	struct rel *r = (struct rel *)data;

	if (rc != ZOK && rc != ZNONODE && rc != ZCLOSING) {
		log_warnx("fence: cannot delete lock contender %s/%s*: %s", r->dir, r->prefix,
			  zk_session_err(rc));
		orphan_add(r->z, r->dir, r->prefix);
	}
	free(r);
}

static void rel_delete(struct zk_ctx *z, const char *dir, const char *prefix, const char *name)
{
	struct rel *r = rel_new(z, dir, prefix);
	char path[ZF_PATH * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (r == NULL || !zk_session_usable(z) || zoo_adelete(z->zh, path, -1, rel_delete_done, r) != ZOK) {
		free(r);
		orphan_add(z, dir, prefix);
	}
}

/* The create's answer was lost: find our contender by its random prefix. */
static void rel_children_done(int rc, const struct String_vector *sv, const void *data)
{
	struct rel *r = (struct rel *)data;

	if (rc == ZOK && !r->z->closing) {
		for (int i = 0; sv && i < sv->count; i++)
			if (sv->data[i] && strncmp(sv->data[i], r->prefix, 32) == 0)
				rel_delete(r->z, r->dir, r->prefix, sv->data[i]);
	} else if (rc != ZNONODE && rc != ZCLOSING) {
		orphan_add(r->z, r->dir, r->prefix);
	}
	free(r);
}

static void rel_by_prefix(struct zk_ctx *z, const char *dir, const char *prefix)
{
	struct rel *r = rel_new(z, dir, prefix);

	if (r == NULL || !zk_session_usable(z) ||
	    zoo_aget_children(z->zh, dir, 0, rel_children_done, r) != ZOK) {
		free(r);
		orphan_add(z, dir, prefix);
	}
}

void zk_fence_lock_sweep(struct zk_ctx *z)
{
	struct zk_fence *f = z->fence;
	struct zf_orphan o[ZF_ORPHANS];
	int n = f->norphans;

	if (n == 0 || !zk_session_usable(z))
		return;
	memcpy(o, f->orphans, sizeof(o[0]) * (size_t)n);
	f->norphans = 0;
	for (int i = 0; i < n; i++)
		rel_by_prefix(z, o[i].dir, o[i].prefix); /* re-added if it fails again */
}

void zk_fence_lock_release(struct zk_ctx *z, struct zf_job *j)
{
	char dir[ZF_PATH];

	ds_path(j, dir, sizeof(dir));
	if (j->lock[0])
		rel_delete(z, dir, j->prefix, j->lock);
	else if (j->prefix[0])
		rel_by_prefix(z, dir, j->prefix);
	j->lock[0] = '\0';
	j->prefix[0] = '\0';
}

/* ---- marking ------------------------------------------------------------------------- */

static void mark_set_done(int rc, const struct Stat *stat, const void *data)
{
	struct zk_ctx *z;
	struct zf_job *j = tok_job(data, &z);

	free((void *)data);
	if (j == NULL)
		return;
	zk_fence_lock_release(z, j);
	if (rc != ZOK) {
		zk_fence_util_job_end(z, j, rc == ZBADVERSION ? "daemon state changed under the lock: not fenced"
						   : "cannot write daemon state `dead`: not fenced");
		return;
	}
	j->ds_ver = stat ? stat->version : -1;
	j->marked_ms = mono_ms();
	log_warnx("fence: node %s: marked `dead` (daemonstate version %d)", j->node, (int)j->ds_ver);
	zk_fence_job_throws_start(z, j);
}

static void mark_read_done(struct zk_ctx *z, struct zf_batch *b)
{
	struct zf_job *j = zk_fence_util_job_find(z, b->gen);
	const char *v = zk_fence_util_val(b, 0);
	char path[ZF_PATH];
	struct tok *t;

	if (j == NULL || j->st != ZJ_MARK)
		return;
	if (v == NULL || strcmp(v, "run") != 0) {
		char why[128], ex[64];
		snprintf(why, sizeof(why), "daemon state is `%s` under the lock: nothing to do",
			 v ? zk_values_excerpt(v, (int)strlen(v), ex, sizeof(ex))
			   : zk_session_err(b->n ? b->it[0]->rc : ZSYSTEMERROR));
		zk_fence_util_job_end(z, j, why);
		return;
	}
	/* `run` alone does not say the node is still silent: a judgement made just
	 * before it came back (or a lock wait behind a read lock while it did) would
	 * mark a live node `dead`, and a live primary relinquishes on that */
	if (b->n < 2 || b->it[1]->rc != ZOK || b->it[1]->mtime != j->judged_mtime) {
		zk_fence_util_job_end(z, j, "wrote a keepalive since it was judged dead: not fenced");
		return;
	}
	ds_path(j, path, sizeof(path));
	t = tok_new(z, j);
	if (t == NULL || !zk_session_usable(z) ||
	    zoo_aset(z->zh, path, "dead", 4, b->it[0]->version, mark_set_done, t) != ZOK) {
		free(t);
		zk_fence_util_job_end(z, j, "cannot send the `dead` write");
	}
}

static void lock_held(struct zk_ctx *z, struct zf_job *j)
{
	char path[ZF_PATH];
	struct zf_batch *b;

	if (j->timer) {
		ev_timer_cancel(z->loop, j->timer);
		j->timer = 0;
	}
	j->st = ZJ_MARK;
	log_debug("fence: node %s: write lock %s held", j->node, j->lock);
	b = zk_fence_util_batch_new(z, j->gen, mark_read_done);
	if (b == NULL) {
		zk_fence_util_job_end(z, j, "cannot re-read the daemon state under the lock");
		return;
	}
	ds_path(j, path, sizeof(path));
	(void)zk_fence_util_batch_get(b, path);
	snprintf(path, sizeof(path), "/nodes/%s/keepalive", j->node);
	(void)zk_fence_util_batch_exists(b, path);
	zk_fence_util_batch_send(b); /* unreadable: mark_read_done ends the job */
}

/* ---- waiting --------------------------------------------------------------------------- */

static void pred_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk_ctx *z;
	struct zf_job *j;

	/* The C client hands every session event (connecting, connected, expired) to
	 * every registered watcher too, with the same context, and the watch stays
	 * registered: freeing `ctx` here would let the real event (or the next
	 * session event) use and free it again. Only a node event consumes it. */
	if (type == ZOO_SESSION_EVENT)
		return;
	j = tok_job(ctx, &z);
	free(ctx);
	if (j == NULL || j->st != ZJ_LOCK)
		return;
	lock_list(z, j);
}

static void pred_exists_done(int rc, const struct Stat *stat, const void *data)
{
	struct zk_ctx *z;
	struct zf_job *j = tok_job(data, &z);

	free((void *)data);
	if (j == NULL || j->st != ZJ_LOCK)
		return;
	j->lock_wait_inflight = 0;
	if (rc == ZNONODE)
		lock_list(z, j); /* gone between the listing and the watch */
	else if (rc != ZOK)
		zk_fence_util_job_end(z, j, "lost the ZooKeeper connection while waiting for the fence lock");
}

static void children_done(int rc, const struct String_vector *sv, const void *data)
{
	struct zk_ctx *z;
	struct zf_job *j = tok_job(data, &z);
	char pred[ZK_NAME] = "", path[ZF_PATH * 2];
	uint32_t best = 0, s;
	int mine = 0;
	struct tok *t, *wt;

	free((void *)data);
	if (j == NULL || j->st != ZJ_LOCK)
		return;
	if (rc != ZOK) {
		zk_fence_util_job_end(z, j, "cannot list the fence lock contenders");
		return;
	}
	for (int i = 0; sv && i < sv->count; i++) {
		const char *c = sv->data[i];
		if (c == NULL || zk_values_contender(c, &s) == 0)
			continue; /* not a kazoo contender: ignored, as kazoo does */
		if (strcmp(c, j->lock) == 0) {
			mine = 1;
			continue;
		}
		/* a write lock waits for every lower lock and read-lock contender */
		if (s < j->seq && (pred[0] == '\0' || s > best)) {
			best = s;
			strlcpy_pvc(pred, c, sizeof(pred));
		}
	}
	if (!mine) {
		j->lock[0] = '\0';
		zk_fence_util_job_end(z, j, "own fence lock contender vanished (session lost?)");
		return;
	}
	if (pred[0] == '\0') {
		lock_held(z, j);
		return;
	}
	if (j->lock_wait_inflight)
		return;
	log_debug("fence: node %s: waiting for lock contender %s", j->node, pred);
	ds_path(j, path, sizeof(path));
	strncat(path, "/", sizeof(path) - strlen(path) - 1);
	strncat(path, pred, sizeof(path) - strlen(path) - 1);
	t = tok_new(z, j);
	wt = tok_new(z, j);
	if (t == NULL || wt == NULL ||
	    zoo_awexists(z->zh, path, pred_watcher, wt, pred_exists_done, t) != ZOK) {
		free(t);
		free(wt);
		zk_fence_util_job_end(z, j, "cannot watch the fence lock predecessor");
		return;
	}
	j->lock_wait_inflight = 1;
}

static void lock_list(struct zk_ctx *z, struct zf_job *j)
{
	char path[ZF_PATH];
	struct tok *t = tok_new(z, j);

	ds_path(j, path, sizeof(path));
	if (t == NULL || !zk_session_usable(z) || zoo_aget_children(z->zh, path, 0, children_done, t) != ZOK) {
		free(t);
		zk_fence_util_job_end(z, j, "cannot list the fence lock contenders");
	}
}

static void create_done(int rc, const char *value, const void *data)
{
	struct zk_ctx *z;
	struct zf_job *j = tok_job(data, &z);
	const char *name;

	free((void *)data);
	if (j == NULL) {
		/* the job ended (lock timeout, session trouble) while the create was out:
		 * its release could not see this contender yet */
		const char *slash = value ? strrchr(value, '/') : NULL;
		if (rc == ZOK && slash && !z->closing && (size_t)(slash - value) < ZF_PATH &&
		    strlen(slash + 1) >= 32) {
			char dir[ZF_PATH], prefix[33];
			memcpy(dir, value, (size_t)(slash - value));
			dir[slash - value] = '\0';
			memcpy(prefix, slash + 1, 32);
			prefix[32] = '\0';
			rel_delete(z, dir, prefix, slash + 1);
		}
		return;
	}
	if (rc != ZOK || value == NULL) {
		char why[128];
		snprintf(why, sizeof(why), "cannot create the fence lock contender: %s", zk_session_err(rc));
		/* lost answer: the contender may exist; release finds it by prefix */
		zk_fence_util_job_end(z, j, why);
		return;
	}
	name = strrchr(value, '/');
	name = name ? name + 1 : value;
	if (zk_values_contender(name, &j->seq) != 1 || strlen(name) >= sizeof(j->lock)) {
		zk_fence_util_job_end(z, j, "ZooKeeper returned a malformed contender name");
		return;
	}
	strlcpy_pvc(j->lock, name, sizeof(j->lock));
	lock_list(z, j);
}

static void lock_timeout(struct ev_loop *loop, void *arg)
{
	struct zf_job *j = arg;

	j->timer = 0;
	/* a kazoo client holding the lock for this long is stuck; the next detection
	 * round tries again (ref §0.5: always use timeouts) */
	zk_fence_util_job_end(j->z, j, "timed out waiting for the fence lock");
}

void zk_fence_lock_start(struct zk_ctx *z, struct zf_job *j)
{
	unsigned char rnd[16];
	char path[ZF_PATH];
	uint64_t iv;
	struct tok *t;

	j->st = ZJ_LOCK;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		zk_fence_util_job_end(z, j, "getrandom failed");
		return;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(j->prefix + 2 * i, 3, "%02x", rnd[i]);
	zk_fence_util_keepalive_ms(z, &iv);
	j->timer = ev_timer(z->loop, iv * (uint64_t)(z->cfg->fence_intervals + 1), lock_timeout, j);
	snprintf(path, sizeof(path), "/nodes/%s/daemonstate/%s__lock__", j->node, j->prefix);
	t = tok_new(z, j);
	if (t == NULL || j->timer == 0 || !zk_session_usable(z) ||
	    zoo_acreate(z->zh, path, z->cfg->node_name, (int)strlen(z->cfg->node_name),
			zk_acl_create(z), ZOO_EPHEMERAL | ZOO_SEQUENCE, create_done, t) != ZOK) {
		free(t);
		j->prefix[0] = '\0';
		zk_fence_util_job_end(z, j, "cannot create the fence lock contender");
	}
}
