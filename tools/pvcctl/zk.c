/*
 * zk.c: ZooKeeper reads and writes of pvcctl, served by zk-election under the ctl
 * path policy (ipc/zkreq.c without a loop: one request at a time, waited for).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvcctl.h"

const char *pvcctl_zk_rc_text(int rc)
{
	switch (rc) {
	case IPC_RC_OK: return "ok";
	case IPC_RC_NONODE: return "no such key";
	case IPC_RC_BADVERSION: return "changed meanwhile (version mismatch)";
	case IPC_RC_NODEEXISTS: return "already exists";
	case IPC_RC_POLICY: return "refused by the daemon's policy";
	case IPC_RC_NOTCONN: return "ZooKeeper is not connected";
	case IPC_RC_BUSY: return "pvcnoded is busy (too many ZooKeeper requests in flight)";
	default: return "ZooKeeper error";
	}
}

static void zk_req_done(void *arg, struct ipc_zkreq *req, int rc, struct ipc_strv *rep)
{
	struct reply *r = arg;

	r->rc = rc;
	if (rep != NULL) {
		/* keep the strings: the caller frees them */
		r->sv = *rep;
		memset(rep, 0, sizeof(*rep));
	}
	r->done = 1;
}

/* One request, one reply; the caller frees r->sv. */
static int zk_req(struct ctl *c, uint32_t type, const char *const *args, uint32_t n,
		  struct reply *r)
{
	memset(r, 0, sizeof(*r));
	if (ipc_zkreq_issue(&c->zk, type, args, n, zk_req_done, r) == NULL)
		pvcctl_out_die(1, "cannot send to pvcnoded: %s", strerror(errno));
	if (ipc_zkreq_wait(&c->zk, &c->chan, &r->done, REPLY_TIMEOUT_MS) != 0) {
		if (errno == ETIMEDOUT)
			pvcctl_out_die(1, "no answer from pvcnoded within %d s", REPLY_TIMEOUT_MS / 1000);
		pvcctl_out_die(1, "connection to pvcnoded lost: %s", errno ? strerror(errno) : "closed");
	}
	if (r->rc == IPC_RC_NOTCONN)
		pvcctl_out_die(1, "ZooKeeper is not connected on this node");
	if (r->rc == IPC_RC_BUSY)
		pvcctl_out_die(1, "pvcnoded is busy (too many ZooKeeper requests in flight): try again");
	if (r->rc == IPC_RC_GARBAGE)
		pvcctl_out_die(1, "malformed reply from pvcnoded");
	return r->rc;
}

/* GET into a malloc'd string (NULL if missing); version into *ver if not NULL. */
char *pvcctl_zk_get(struct ctl *c, long long *ver, const char *fmt, ...)
{
	char path[256];
	const char *p = path;
	struct reply r;
	char *val = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (zk_req(c, MSG_ZK_GET, &p, 1, &r) == 0) {
		val = strdup(r.sv.v[2]);
		if (val == NULL)
			pvcctl_out_die(1, "out of memory");
		if (ver && parse_ll(r.sv.v[3], 0, INT32_MAX, ver) != 0)
			pvcctl_out_die(1, "malformed version in a reply");
	} else if (r.rc != IPC_RC_NONODE) {
		pvcctl_out_die(1, "reading %s: %s (rc %d)", path, pvcctl_zk_rc_text(r.rc), r.rc);
	}
	ipc_strv_free(&r.sv);
	return val;
}

/* /<base>/<name>/<key> or a default when missing. */
char *pvcctl_zk_kget(struct ctl *c, const char *base, const char *name, const char *key,
		     const char *dflt)
{
	char *v = pvcctl_zk_get(c, NULL, "/%s/%s/%s", base, name, key);

	if (v == NULL && (v = strdup(dflt)) == NULL)
		pvcctl_out_die(1, "out of memory");
	return v;
}

void pvcctl_zk_children(struct ctl *c, const char *path, struct reply *r)
{
	if (zk_req(c, MSG_ZK_CHILDREN, &path, 1, r) != 0)
		pvcctl_out_die(1, "listing %s: %s (rc %d)", path, pvcctl_zk_rc_text(r->rc), r->rc);
}

int pvcctl_zk_write1(struct ctl *c, const char *op, const char *path, const char *value)
{
	const char *v[3] = {op, path, value};
	struct reply r;
	int rc = zk_req(c, MSG_ZK_WRITE, v, 3, &r);

	ipc_strv_free(&r.sv);
	return rc;
}

