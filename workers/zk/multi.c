/*
 * multi.c: ZooKeeper multi-ops (transactions) built up op by op on the heap and
 * freed in their completion, so that a caller never has to keep the buffers alive.
 */
#include <stdlib.h>
#include <string.h>

#include "zk_acl.h"
#include "zk_internal.h"

struct zk_multi *zk_multi_new(struct zk_ctx *z)
{
	struct zk_multi *m = calloc(1, sizeof(*m));

	if (m)
		m->z = z;
	return m;
}

static char *zk_multi_keep(struct zk_multi *m, const char *s, size_t extra)
{
	size_t n = strlen(s);
	char *c;

	if (m->nbufs == m->capbufs) {
		int nc = m->capbufs ? m->capbufs * 2 : 16;
		char **nb = realloc(m->bufs, (size_t)nc * sizeof(*nb));
		if (nb == NULL)
			return NULL;
		m->bufs = nb;
		m->capbufs = nc;
	}
	c = malloc(n + 1 + extra);
	if (c == NULL)
		return NULL;
	memcpy(c, s, n + 1);
	m->bufs[m->nbufs++] = c;
	return c;
}

static zoo_op_t *zk_multi_op(struct zk_multi *m)
{
	if (m->n == m->cap) {
		int nc = m->cap ? m->cap * 2 : 16;
		zoo_op_t *no = realloc(m->ops, (size_t)nc * sizeof(*no));
		if (no == NULL)
			return NULL;
		m->ops = no;
		zoo_op_result_t *nr = realloc(m->res, (size_t)nc * sizeof(*nr));
		if (nr == NULL)
			return NULL;
		m->res = nr;
		m->cap = nc;
	}
	return &m->ops[m->n++];
}

int zk_multi_set(struct zk_multi *m, const char *path, const char *value, int version)
{
	char *p = zk_multi_keep(m, path, 0), *v = zk_multi_keep(m, value, 0);
	zoo_op_t *op = (p && v) ? zk_multi_op(m) : NULL;

	if (op == NULL) {
		m->failed = 1;
		return -1;
	}
	zoo_set_op_init(op, p, v, (int)strlen(v), version, NULL);
	return 0;
}

int zk_multi_create(struct zk_multi *m, const char *path, const char *value, int flags)
{
	char *p = zk_multi_keep(m, path, 0), *v = zk_multi_keep(m, value, 0);
	char *out = zk_multi_keep(m, path, 32);
	zoo_op_t *op = (p && v && out) ? zk_multi_op(m) : NULL;

	if (op == NULL) {
		m->failed = 1;
		return -1;
	}
	zoo_create_op_init(op, p, v, (int)strlen(v), zk_acl_create(m->z), flags, out,
			   (int)strlen(path) + 32);
	return 0;
}

int zk_multi_delete(struct zk_multi *m, const char *path, int version)
{
	char *p = zk_multi_keep(m, path, 0);
	zoo_op_t *op = p ? zk_multi_op(m) : NULL;

	if (op == NULL) {
		m->failed = 1;
		return -1;
	}
	zoo_delete_op_init(op, p, version);
	return 0;
}

static void zk_multi_free(struct zk_multi *m)
{
	for (int i = 0; i < m->nbufs; i++)
		free(m->bufs[i]);
	free(m->bufs);
	free(m->ops);
	free(m->res);
	free(m);
}

static void zk_multi_done(int rc, const void *data)
{
	struct zk_multi *m = (struct zk_multi *)data;

	if (m->done)
		m->done(m->z, rc, m);
	zk_multi_free(m);
}

void zk_multi_commit(struct zk_multi *m)
{
	int rc;

	if (m->failed) {
		zk_multi_done(ZSYSTEMERROR, m);
		return;
	}
	if (m->n == 0) {
		zk_multi_done(ZOK, m);
		return;
	}
	if (!zk_session_usable(m->z)) {
		zk_multi_done(ZCONNECTIONLOSS, m);
		return;
	}
	rc = zoo_amulti(m->z->zh, m->n, m->ops, m->res, zk_multi_done, m);
	if (rc != ZOK)
		zk_multi_done(rc, m);
}
