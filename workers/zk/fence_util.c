/*
 * fence_util.c: the list of fence jobs, the judgement, read batches and check-op
 * transactions for the fencing code: the bottom of fence*.c, calling none of them
 * (ending a job releases its lock and recovery through struct zk_fence's hooks).
 * The election's zk_multi has no check op; recovery needs one (a write for each VM
 * that must not happen if the dead node wrote anything in between).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zk_acl.h"
#include "zk_fence_int.h"

#define ZF_VALUE_MAX 65536

/* ---- jobs ---------------------------------------------------------------------- */

void zk_fence_util_keepalive_ms(const struct zk_ctx *z, uint64_t *ms)
{
	int iv = z->cfg->keepalive_interval > 0 ? z->cfg->keepalive_interval : 5;

	*ms = (uint64_t)iv * 1000u;
}

struct zf_job *zk_fence_util_job_find(struct zk_ctx *z, uint64_t gen)
{
	for (struct zf_job *j = z->fence->jobs; j; j = j->next)
		if (j->gen == gen)
			return j;
	return NULL;
}

struct zf_job *zk_fence_util_job_by_node(struct zk_ctx *z, const char *node)
{
	for (struct zf_job *j = z->fence->jobs; j; j = j->next)
		if (strcmp(j->node, node) == 0)
			return j;
	return NULL;
}

void zk_fence_util_job_end(struct zk_ctx *z, struct zf_job *j, const char *why)
{
	struct zf_job **p;

	if (why)
		log_info("fence: node %s: %s", j->node, why);
	if (j->timer)
		ev_timer_cancel(z->loop, j->timer);
	/* also with only a prefix: a create whose answer was lost may have made one */
	if (j->lock[0] || j->prefix[0])
		z->fence->release_lock(z, j);
	z->fence->free_rec(j->rec);
	for (p = &z->fence->jobs; *p; p = &(*p)->next) {
		if (*p == j) {
			*p = j->next;
			break;
		}
	}
	free(j);
}

/* ---- the judgement ------------------------------------------------------------- */


int64_t zk_fence_util_age(int64_t own, int64_t theirs, int64_t epoch)
{
	return own - (theirs > epoch ? theirs : epoch);
}

int zk_fence_util_is_dead(const char *ds, int64_t age, int keepalive_s, int fence_intervals)
{
	/* fence_intervals <= 0 would make everybody dead at once (ref §12.2 #23) */
	if (ds == NULL || strcmp(ds, "run") != 0 || keepalive_s <= 0 || fence_intervals <= 0)
		return 0;
	return age > (int64_t)keepalive_s * 1000 * fence_intervals;
}

int zk_fence_util_gap(uint64_t prev, uint64_t sent, int keepalive_s)
{
	uint64_t iv = (uint64_t)(keepalive_s > 0 ? keepalive_s : 5) * 1000u;

	return prev == 0 || sent > prev + 2 * iv;
}

struct zf_batch *zk_fence_util_batch_new(struct zk_ctx *z, uint64_t gen,
			      void (*done)(struct zk_ctx *z, struct zf_batch *b))
{
	struct zf_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->z = z;
	b->gen = gen;
	b->done = done;
	return b;
}

static int add_item(struct zf_batch *b, const char *path, int exists_only)
{
	struct zf_item *it;

	if (b->n == b->cap) {
		int nc = b->cap ? b->cap * 2 : 16;
		struct zf_item **n = realloc(b->it, (size_t)nc * sizeof(*n));
		if (n == NULL)
			return -1;
		b->it = n;
		b->cap = nc;
	}
	it = calloc(1, sizeof(*it));
	if (it == NULL)
		return -1;
	it->b = b;
	it->exists_only = exists_only;
	it->rc = ZSYSTEMERROR;
	it->version = -1;
	if ((size_t)snprintf(it->path, sizeof(it->path), "%s", path) >= sizeof(it->path)) {
		free(it);
		return -1;
	}
	b->it[b->n] = it;
	return b->n++;
}

int zk_fence_util_batch_get(struct zf_batch *b, const char *path)
{
	return add_item(b, path, 0);
}

int zk_fence_util_batch_exists(struct zf_batch *b, const char *path)
{
	return add_item(b, path, 1);
}

const char *zk_fence_util_val(const struct zf_batch *b, int i)
{
	if (i < 0 || i >= b->n || b->it[i]->rc != ZOK)
		return NULL;
	return b->it[i]->val;
}

static void batch_free(struct zf_batch *b)
{
	for (int i = 0; i < b->n; i++) {
		if (b->it[i]->val) /* BMC passwords pass through here */
			explicit_bzero(b->it[i]->val, strlen(b->it[i]->val));
		free(b->it[i]->val);
		free(b->it[i]);
	}
	free(b->it);
	free(b);
}

static void batch_one_done(struct zf_batch *b)
{
	if (--b->pending > 0)
		return;
	if (!b->z->closing && b->done)
		b->done(b->z, b);
	batch_free(b);
}

static void get_cb(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	struct zf_item *it = (struct zf_item *)data;

	it->rc = rc;
	if (rc == ZOK) {
		if (len < 0 || value == NULL)
			len = 0;
		if (len > ZF_VALUE_MAX || (len > 0 && memchr(value, '\0', (size_t)len))) {
			log_warnx("fence: %s: value with NUL or over %d bytes ignored", it->path,
				  ZF_VALUE_MAX);
			it->rc = ZBADARGUMENTS;
		} else if ((it->val = malloc((size_t)len + 1)) == NULL) {
			it->rc = ZSYSTEMERROR;
		} else {
			if (len)
				memcpy(it->val, value, (size_t)len);
			it->val[len] = '\0';
		}
		if (stat) {
			it->version = stat->version;
			it->mtime = stat->mtime;
		}
	}
	batch_one_done(it->b);
}

static void exists_cb(int rc, const struct Stat *stat, const void *data)
{
	struct zf_item *it = (struct zf_item *)data;

	it->rc = rc;
	if (rc == ZOK && stat) {
		it->version = stat->version;
		it->mtime = stat->mtime;
	}
	batch_one_done(it->b);
}

void zk_fence_util_batch_send(struct zf_batch *b)
{
	struct zk_ctx *z = b->z;

	/* one extra count so that synchronous failures cannot finish it early */
	b->pending = 1;
	for (int i = 0; i < b->n; i++) {
		struct zf_item *it = b->it[i];
		int rc;
		if (!zk_session_usable(z)) {
			it->rc = ZCONNECTIONLOSS;
			continue;
		}
		b->pending++;
		rc = it->exists_only ? zoo_aexists(z->zh, it->path, 0, exists_cb, it)
				     : zoo_aget(z->zh, it->path, 0, get_cb, it);
		if (rc != ZOK) {
			it->rc = rc;
			b->pending--;
		}
	}
	batch_one_done(b);
}

/* ---- transactions ---- */

struct zf_multi *zk_fence_util_multi_new(struct zk_ctx *z, uint64_t gen)
{
	struct zf_multi *m = calloc(1, sizeof(*m));

	if (m) {
		m->z = z;
		m->gen = gen;
	}
	return m;
}

static int slot(struct zf_multi *m, const char *path, const char *value)
{
	int i = m->n;

	if (i >= ZF_MULTI_MAX ||
	    (size_t)snprintf(m->paths[i], ZF_PATH, "%s", path) >= ZF_PATH ||
	    (size_t)snprintf(m->vals[i], sizeof(m->vals[i]), "%s", value) >= sizeof(m->vals[i])) {
		m->failed = 1;
		return -1;
	}
	m->n++;
	return i;
}

void zk_fence_util_multi_check(struct zf_multi *m, const char *path, int32_t version)
{
	int i = slot(m, path, "");

	if (i >= 0)
		zoo_check_op_init(&m->ops[i], m->paths[i], version);
}

void zk_fence_util_multi_set(struct zf_multi *m, const char *path, const char *value, int32_t version)
{
	int i = slot(m, path, value);

	if (i >= 0)
		zoo_set_op_init(&m->ops[i], m->paths[i], m->vals[i], (int)strlen(m->vals[i]),
				version, NULL);
}

void zk_fence_util_multi_create(struct zf_multi *m, const char *path, const char *value)
{
	int i = slot(m, path, value);

	if (i >= 0)
		zoo_create_op_init(&m->ops[i], m->paths[i], m->vals[i], (int)strlen(m->vals[i]),
				   zk_acl_create(m->z), 0, m->created[i],
				   (int)sizeof(m->created[i]));
}

static void multi_cb(int rc, const void *data)
{
	struct zf_multi *m = (struct zf_multi *)data;

	if (m->done)
		m->done(m->z, m, m->z->closing ? ZCLOSING : rc);
	free(m);
}

void zk_fence_util_multi_commit(struct zf_multi *m)
{
	int rc;

	if (m->failed || m->n == 0) {
		multi_cb(ZBADARGUMENTS, m);
		return;
	}
	if (!zk_session_usable(m->z)) {
		multi_cb(ZCONNECTIONLOSS, m);
		return;
	}
	rc = zoo_amulti(m->z->zh, m->n, m->ops, m->res, multi_cb, m);
	if (rc != ZOK)
		multi_cb(rc, m);
}
