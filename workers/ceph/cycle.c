/*
 * cycle.c: the statistics cycle of the ceph worker, every keepalive interval, and
 * the lock commands of zk-election (ceph_int.h).
 *
 * A cycle reads from ZooKeeper which OSDs exist and whose they are
 * (/ceph/osds/<id>/node, as the reference's CephOSDInstance) and, on the primary,
 * which pools PVC knows (/ceph/pools); then the rados thread gathers the numbers and
 * builds the values; then each batch of up to five keys is one MSG_ZK_WRITE (one
 * ZooKeeper multi). A cycle that is still running when the next is due, or that
 * failed, writes nothing: the values stay as they were (stale) and one log line
 * says so.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceph_int.h"
#include "log.h"
#include "strv.h"

#define WRITE_BATCH 5 /* IPC_ZKREQ_ARGS_MAX / 3 */

static void maybe_submit(struct ceph_ctx *c);

static int rep_rc(const struct ipc_strv *rep, int rc)
{
	return rc == 0 && rep != NULL && rep->n >= 2 ? atoi(rep->v[1]) : (rc ? rc : -1);
}

static void read_failed(struct ceph_ctx *c, const char *what, int rc)
{
	if (c->next && c->next->err[0] == '\0')
		snprintf(c->next->err, sizeof(c->next->err), "cannot read %s from ZooKeeper (%d)",
			 what, rc);
}

static void node_done(void *arg, struct ipc_zkreq *r, int rc, struct ipc_strv *rep)
{
	struct ceph_ctx *c = arg;
	struct ceph_job *j = c->next;

	if (rc == IPC_RC_CANCELLED)
		return;
	c->reads--;
	rc = rep_rc(rep, rc);
	if (j && rc == 0 && rep->n >= 3 && strcmp(rep->v[2], c->w->cfg.node_name) == 0 &&
	    j->nosds < CEPH_OSDS_MAX)
		j->osds[j->nosds++] = (int64_t)r->cookie;
	/* an OSD without a node key (being created) is nobody's yet */
	maybe_submit(c);
}

static void osds_done(void *arg, struct ipc_zkreq *r, int rc, struct ipc_strv *rep)
{
	struct ceph_ctx *c = arg;

	if (rc == IPC_RC_CANCELLED)
		return;
	c->reads--;
	rc = rep_rc(rep, rc);
	if (rc != 0 || c->next == NULL) {
		read_failed(c, "/ceph/osds", rc);
		maybe_submit(c);
		return;
	}
	c->next->health[0] = '\0';
	c->next->nkv = 0;
	c->next->total_osds = (int)(rep->n - 2);
	for (uint32_t i = 2; i < rep->n; i++) {
		char path[96], *e;
		long long id = strtoll(rep->v[i], &e, 10);
		const char *a[1] = {path};
		struct ipc_zkreq *q;

		if (*e != '\0' || e == rep->v[i] || id < 0)
			continue;
		snprintf(path, sizeof(path), "/ceph/osds/%lld/node", id);
		q = ipc_zkreq_issue(&c->zk, MSG_ZK_GET, a, 1, node_done, c);
		if (q == NULL) {
			read_failed(c, path, -1);
			continue;
		}
		q->cookie = (uint64_t)id;
		c->reads++;
	}
	maybe_submit(c);
}

static void pools_done(void *arg, struct ipc_zkreq *r, int rc, struct ipc_strv *rep)
{
	struct ceph_ctx *c = arg;
	struct ceph_job *j = c->next;

	if (rc == IPC_RC_CANCELLED)
		return;
	c->reads--;
	rc = rep_rc(rep, rc);
	if (rc != 0 || j == NULL) {
		read_failed(c, "/ceph/pools", rc);
	} else {
		for (uint32_t i = 2; i < rep->n && j->npools < CEPH_POOLS_MAX; i++)
			snprintf(j->pools[j->npools++], sizeof(j->pools[0]), "%s", rep->v[i]);
	}
	maybe_submit(c);
}

static void stale(struct ceph_ctx *c, const char *why)
{
	if (c->stale++ == 0)
		log_warnx("ceph: statistics stale (nothing written): %s", why);
}

static void maybe_submit(struct ceph_ctx *c)
{
	struct ceph_job *j = c->next;
	uint64_t now = mono_ms();

	if (c->reads > 0 || j == NULL)
		return;
	c->next = NULL;
	if (j->err[0]) {
		stale(c, j->err);
		ceph_rados_job_free(j);
		c->cycling = 0;
		return;
	}
	for (int i = 0; i < j->nosds; i++)
		for (int k = 0; k < c->nprev; k++)
			if (c->prev_id[k] == j->osds[i]) {
				j->prev[i] = c->prev[k];
				j->have_prev[i] = 1;
			}
	j->elapsed_ms = c->prev_ms ? now - c->prev_ms : 0;
	ceph_rados_submit(&c->r, j);
}

void ceph_cycle_start(struct ceph_ctx *c)
{
	const char *a[1];
	struct ipc_zkreq *q;

	if (c->cycling) {
		stale(c, "the previous cycle is still waiting for Ceph");
		return;
	}
	c->next = calloc(1, sizeof(*c->next));
	if (c->next == NULL)
		return;
	c->cycling = 1;
	c->next->kind = CEPH_JOB_STATS;
	c->next->primary = c->primary;
	a[0] = "/ceph/osds";
	q = ipc_zkreq_issue(&c->zk, MSG_ZK_CHILDREN, a, 1, osds_done, c);
	if (q)
		c->reads++;
	else
		read_failed(c, a[0], -1);
	if (c->primary) {
		a[0] = "/ceph/pools";
		q = ipc_zkreq_issue(&c->zk, MSG_ZK_CHILDREN, a, 1, pools_done, c);
		if (q)
			c->reads++;
		else
			read_failed(c, a[0], -1);
	}
	maybe_submit(c);
}

static void write_done(void *arg, struct ipc_zkreq *r, int rc, struct ipc_strv *rep)
{
	if (rc == IPC_RC_CANCELLED)
		return;
	rc = rep_rc(rep, rc);
	if (rc != 0)
		log_warnx("ceph: writing %s and the rest of its batch failed (%d)",
			  r->n >= 2 ? r->v[1] : "?", rc);
}

static void write_values(struct ceph_ctx *c, struct ceph_job *j)
{
	for (int i = 0; i < j->nkv; i += WRITE_BATCH) {
		const char *a[3 * WRITE_BATCH];
		uint32_t n = 0;

		for (int k = i; k < j->nkv && k < i + WRITE_BATCH; k++) {
			a[n++] = "set";
			a[n++] = j->kv[k].path;
			a[n++] = j->kv[k].value;
		}
		if (ipc_zkreq_issue(&c->zk, MSG_ZK_WRITE, a, n, write_done, c) == NULL)
			log_warnx("ceph: cannot queue the write of %s", j->kv[i].path);
	}
}

static void stats_done(struct ceph_ctx *c, struct ceph_job *j)
{
	c->cycling = 0;
	if (!j->ok) {
		stale(c, j->err);
		return;
	}
	if (c->stale)
		log_info("ceph: statistics written again after %d stale cycle(s)", c->stale);
	c->stale = 0;
	write_values(c, j);
	c->nprev = j->nosds;
	for (int i = 0; i < j->nosds; i++) {
		c->prev_id[i] = j->osds[i];
		c->prev[i] = j->totals[i];
	}
	c->prev_ms = mono_ms();
	log_debug("ceph: statistics gathered in %" PRIu64 " ms (%d values)", j->took_ms, j->nkv);
	if (c->w->cfg.log_keepalives && c->w->cfg.log_keepalive_storage_details)
		log_info("Ceph cluster status: %s  Total OSDs: %d  Node OSDs: %d  "
			 "Pools: %d", j->health, j->total_osds, j->nosds, j->npools);
	{
		char s1[96];
		const char *kv[1] = {s1};
		snprintf(s1, sizeof(s1), "cluster=%s", j->health);
		(void)worker_status(c->w, kv, 1);
	}
}

void ceph_cycle_job_done(struct ceph_ctx *c, struct ceph_job *j)
{
	if (j->kind == CEPH_JOB_STATS) {
		stats_done(c, j);
	} else {
		char detail[600];
		const char *v[3] = {j->id, j->ok ? "success" : "failure", detail};

		if (j->ok)
			snprintf(detail, sizeof(detail), "%d lock(s) freed on %d volume(s)",
				 j->nbroken, j->nimages);
		else
			snprintf(detail, sizeof(detail), "%s", j->err);
		if (!j->ok)
			log_warnx("ceph: flushing RBD locks (%s) failed: %s", j->id, j->err);
		(void)worker_send_strv(c->w, MSG_CEPH_RESULT, ROLE_ZK, v, 3);
	}
	ceph_rados_job_free(j);
}

/* MSG_CEPH_CMD [id, "flush_locks", pool/volume...] from zk-election */
void ceph_cycle_cmd(struct ceph_ctx *c, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;
	struct ceph_job *j;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
		log_warnx("ceph: malformed CEPH_CMD: %s", err ? err : "?");
		return;
	}
	if (sv.n < 2 || strlen(sv.v[0]) >= CEPH_ID_MAX || strcmp(sv.v[1], "flush_locks") != 0 ||
	    sv.n - 2 > CEPH_IMAGES_MAX) {
		const char *v[3] = {sv.n ? sv.v[0] : "", "failure", "unknown command"};
		log_warnx("ceph: CEPH_CMD %s not understood", sv.n > 1 ? sv.v[1] : "(empty)");
		if (sv.n && strlen(sv.v[0]) < CEPH_ID_MAX)
			(void)worker_send_strv(c->w, MSG_CEPH_RESULT, ROLE_ZK, v, 3);
		goto out;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		goto out;
	j->kind = CEPH_JOB_LOCKS;
	snprintf(j->id, sizeof(j->id), "%s", sv.v[0]);
	for (uint32_t i = 2; i < sv.n; i++)
		snprintf(j->images[j->nimages++], sizeof(j->images[0]), "%s", sv.v[i]);
	ceph_rados_submit(&c->r, j);
out:
	ipc_strv_free(&sv);
}
