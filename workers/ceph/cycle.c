/*
 * cycle.c: the statistics cycle of the ceph worker, every keepalive interval, and
 * the lock commands of zk-election (ceph_int.h).
 *
 * A cycle reads from ZooKeeper which OSDs exist and whose they are
 * (/ceph/osds/<id>/node, as the reference's CephOSDInstance) and, on the primary,
 * which pools PVC knows (/ceph/pools); then the rados thread gathers the numbers and
 * builds the values; then each batch of up to five keys is one MSG_ZK_WRITE (one
 * ZooKeeper multi), /ceph and /ceph/radosdf in a batch of their own. A cycle that
 * is still running when the next is due, or that failed, writes nothing: the
 * values stay as they were (stale) and one log line says so; the primary's part
 * and the OSDs' part fail apart (statjob.c).
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

/* The `<name>` rule of lib/policy.c's path table, which zk-election applies to
 * /ceph/pools/<name>/stats: a name it would refuse is not asked for at all (its
 * write would fail, and with it the rest of its batch). */
static int pool_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* logged once per name (the first eight names; a cluster has few pools) */
static void bad_pool(struct ceph_ctx *c, const char *name)
{
	for (int i = 0; i < c->nbad_pools; i++)
		if (strncmp(c->bad_pools[i], name, sizeof(c->bad_pools[0]) - 1) == 0)
			return;
	log_warnx("ceph: pool \"%.80s\" skipped: its statistics path would be refused "
		  "(a pool name is [A-Za-z0-9_.-], up to 63 characters, not starting with a dot)",
		  name);
	if (c->nbad_pools < (int)(sizeof(c->bad_pools) / sizeof(c->bad_pools[0])))
		snprintf(c->bad_pools[c->nbad_pools++], sizeof(c->bad_pools[0]), "%s", name);
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
		for (uint32_t i = 2; i < rep->n && j->npools < CEPH_POOLS_MAX; i++) {
			if (!pool_name_ok(rep->v[i])) {
				bad_pool(c, rep->v[i]);
				continue;
			}
			snprintf(j->pools[j->npools++], sizeof(j->pools[0]), "%s", rep->v[i]);
		}
	}
	maybe_submit(c);
}

static void stale(struct ceph_ctx *c, const char *why)
{
	if (c->stale++ == 0)
		log_warnx("ceph: statistics stale (nothing written): %s", why);
}

/* one part of a cycle that answered failed: logged on the first in a row */
static void part_stale(int *count, int ok, const char *what, const char *why)
{
	if (ok) {
		if (*count)
			log_info("ceph: %s written again after %d stale cycle(s)", what, *count);
		*count = 0;
	} else if ((*count)++ == 0) {
		log_warnx("ceph: %s stale (not written): %s", what, why[0] ? why : "?");
	}
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

/* Batches of up to WRITE_BATCH values of one group. The primary's values (head,
 * pools) are dropped if the node lost primary while the cycle ran: the new
 * primary writes them now. */
static void write_values(struct ceph_ctx *c, struct ceph_job *j)
{
	int i = 0;

	while (i < j->nkv) {
		const char *a[3 * WRITE_BATCH];
		uint32_t n = 0;
		int k = i;

		for (; k < j->nkv && k < i + WRITE_BATCH && j->kv[k].group == j->kv[i].group; k++) {
			a[n++] = "set";
			a[n++] = j->kv[k].path;
			a[n++] = j->kv[k].value;
		}
		if (j->kv[i].group != CEPH_KV_OSD && !c->primary)
			log_debug("ceph: no longer primary: %s and its batch not written",
				  j->kv[i].path);
		else if (ipc_zkreq_issue(&c->zk, MSG_ZK_WRITE, a, n, write_done, c) == NULL)
			log_warnx("ceph: cannot queue the write of %s", j->kv[i].path);
		i = k;
	}
}

/* the job's notes, line by line, but not those the last cycle logged already */
static void log_notes(struct ceph_ctx *c, struct ceph_job *j)
{
	const char *p = j->notes;

	if (p && !(c->notes && strcmp(c->notes, p) == 0))
		while (*p) {
			size_t l = strcspn(p, "\n");

			log_warnx("ceph: %.*s", (int)l, p);
			p += l + (p[l] == '\n');
		}
	free(c->notes);
	c->notes = j->notes;
	j->notes = NULL;
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
	if (j->primary)
		part_stale(&c->stale_head, j->head_ok, "cluster statistics", j->head_err);
	if (j->nosds > 0)
		part_stale(&c->stale_osds, j->osds_ok, "OSD statistics", j->osds_err);
	log_notes(c, j);
	write_values(c, j);
	if (j->nosds > 0 && j->osds_ok) {
		/* the rates' base: the OSDs written; a skipped one starts afresh */
		c->nprev = 0;
		for (int i = 0; i < j->nosds; i++)
			if (j->osd_ok[i]) {
				c->prev_id[c->nprev] = j->osds[i];
				c->prev[c->nprev++] = j->totals[i];
			}
		c->prev_ms = mono_ms();
	}
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
		char detail[700];
		const char *v[3] = {j->id, j->ok ? "success" : "failure", detail};
		const char *p = j->notes;

		/* the rados thread's lines, logged here (ceph_int.h) */
		while (p && *p) {
			size_t l = strcspn(p, "\n");

			log_ok("ceph: %.*s", (int)l, p);
			p += l + (p[l] == '\n');
		}
		if (j->ok)
			snprintf(detail, sizeof(detail), "%d lock(s) freed on %d volume(s)",
				 j->nbroken, j->nimages);
		else if (j->nfailed)
			snprintf(detail, sizeof(detail), "%d failure(s) on %d volume(s), %d lock(s) "
				 "freed: %s", j->nfailed, j->nimages, j->nbroken, j->err);
		else
			snprintf(detail, sizeof(detail), "%s", j->err);
		if (!j->ok)
			log_warnx("ceph: flushing RBD locks (%s) failed: %s", j->id, detail);
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
