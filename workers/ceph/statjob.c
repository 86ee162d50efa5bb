/*
 * statjob.c: one statistics cycle in the rados thread (ceph_int.h). Two parts
 * stand apart: the primary's (/ceph, /ceph/radosdf, the pools) and this node's
 * OSDs, so that a manager that does not answer or one OSD missing from the maps
 * leaves the cluster's status current. Within a part, the values are built only
 * when every call it needs answered, so the loop writes complete values or none
 * (stale, logged), never an empty /ceph; an OSD that cannot be built is skipped
 * alone (a line in the job's notes, which the loop logs: this thread never logs).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "ceph_int.h"

#define VAL_MAX (256 * 1024)

struct sj {
	char *raw[6];
	struct cj *json[6]; /* df, osd dump, osd df, osd metadata, pg dump */
	char *buf;
	struct ceph_pool_rstat *rs;
	int nrs;
};

static void sj_free(struct sj *s)
{
	for (int i = 0; i < 6; i++) {
		ceph_json_free(s->json[i]);
		free(s->raw[i]);
	}
	free(s->buf);
	free(s->rs);
}

/* librados statistics of every pool of the cluster */
static int pool_stats(struct ceph_rados *r, struct ceph_job *j, struct sj *s)
{
	char names[8192];
	int len = rados_pool_list((rados_t)r->cluster, names, sizeof(names));

	if (len < 0 || len > (int)sizeof(names)) {
		snprintf(j->head_err, sizeof(j->head_err), "rados_pool_list: %s",
			 len < 0 ? strerror(-len) : "too many pools");
		return -1;
	}
	s->rs = calloc(CEPH_POOLS_MAX, sizeof(*s->rs));
	if (s->rs == NULL) {
		snprintf(j->head_err, sizeof(j->head_err), "out of memory");
		return -1;
	}
	for (const char *n = names; *n && n < names + len && s->nrs < CEPH_POOLS_MAX;
	     n += strlen(n) + 1) {
		rados_ioctx_t io;
		struct rados_pool_stat_t st;
		struct ceph_pool_rstat *p = &s->rs[s->nrs];
		int rc = rados_ioctx_create((rados_t)r->cluster, n, &io);

		if (rc == 0) {
			rc = rados_ioctx_pool_stat(io, &st);
			rados_ioctx_destroy(io);
		}
		if (rc < 0) {
			snprintf(j->head_err, sizeof(j->head_err), "statistics of pool %s: %s", n,
				 strerror(-rc));
			return -1;
		}
		if (strlen(n) >= sizeof(p->name))
			continue; /* no pool name of PVC is that long */
		memcpy(p->name, n, strlen(n) + 1);
		p->num_bytes = st.num_bytes;
		p->num_objects = st.num_objects;
		p->num_object_clones = st.num_object_clones;
		p->num_object_copies = st.num_object_copies;
		p->num_objects_missing_on_primary = st.num_objects_missing_on_primary;
		p->num_objects_unfound = st.num_objects_unfound;
		p->num_objects_degraded = st.num_objects_degraded;
		p->num_rd = st.num_rd;
		p->num_rd_kb = st.num_rd_kb;
		p->num_wr = st.num_wr;
		p->num_wr_kb = st.num_wr_kb;
		p->compressed_bytes_alloc = st.compressed_bytes_alloc;
		p->compressed_bytes_orig = st.compressed_bytes_orig;
		s->nrs++;
	}
	return 0;
}

static const struct ceph_pool_rstat *rstat_of(const struct sj *s, const char *name)
{
	for (int i = 0; i < s->nrs; i++)
		if (strcmp(s->rs[i].name, name) == 0)
			return &s->rs[i];
	return NULL;
}

/* the primary's part: /ceph, /ceph/radosdf, /ceph/pools/<pool>/stats */
static int primary_part(struct ceph_rados *r, struct ceph_job *j, struct sj *s)
{
	struct rados_cluster_stat_t cs;
	struct ceph_buf b;
	char *st = NULL, path[160], *E = j->head_err;
	size_t stlen, ES = sizeof(j->head_err);
	int rc;

	if (ceph_client_command(r, 0, "{\"prefix\": \"status\"}", CEPH_OUT_MAX, &st, &stlen, E,
				ES) != 0)
		return -1;
	rc = stlen == 0 ? -1 : ceph_client_kv_add(j, "/ceph", st, stlen, CEPH_KV_HEAD);
	free(st);
	if (rc != 0) {
		snprintf(E, ES, "empty `status` answer");
		return -1;
	}
	s->json[0] = ceph_client_json(r, 0, "{\"prefix\": \"df\", \"format\": \"json\"}",
				      CEPH_OUT_MAX, &s->raw[0], E, ES);
	if (s->json[0] == NULL || pool_stats(r, j, s) != 0)
		return -1;
	rc = rados_cluster_stat((rados_t)r->cluster, &cs);
	if (rc < 0) {
		snprintf(E, ES, "rados_cluster_stat: %s", strerror(-rc));
		return -1;
	}
	ceph_json_buf_init(&b, s->buf, VAL_MAX);
	if (ceph_stats_radosdf(s->rs, s->nrs, cs.kb, cs.kb_used, cs.kb_avail, cs.num_objects,
			       &b) != 0 ||
	    ceph_client_kv_add(j, "/ceph/radosdf", b.p, b.len, CEPH_KV_HEAD) != 0) {
		snprintf(E, ES, "the rados df table does not fit");
		return -1;
	}
	for (int i = 0; i < j->npools; i++) {
		const struct ceph_pool_rstat *p = rstat_of(s, j->pools[i]);
		const struct cj *d = ceph_stats_df_pool(s->json[0], j->pools[i]);

		/* a pool PVC knows but Ceph does not (yet): nothing to say about it */
		if (p == NULL || d == NULL)
			continue;
		ceph_json_buf_init(&b, s->buf, VAL_MAX);
		snprintf(path, sizeof(path), "/ceph/pools/%s/stats", j->pools[i]);
		if (ceph_stats_pool_json(d, p, &b) != 0 ||
		    ceph_client_kv_add(j, path, b.p, b.len, CEPH_KV_POOL) != 0) {
			snprintf(E, ES, "pool %s: unexpected `df` answer", j->pools[i]);
			return -1;
		}
	}
	return 0;
}

/* one OSD's value, or a line in the notes saying why it is skipped */
static void osd_one(struct ceph_job *j, struct sj *s, int i)
{
	const struct cj *pg = ceph_json_get(s->json[4], "pg_map");
	struct ceph_osd_rate rate;
	struct ceph_buf b;
	char path[160], line[160];
	const char *why = NULL;

	if (ceph_stats_osd_ops(pg ? pg : s->json[4], j->osds[i], &j->totals[i]) != 0) {
		why = "unexpected `pg dump` answer";
	} else {
		ceph_json_buf_init(&b, s->buf, VAL_MAX);
		snprintf(path, sizeof(path), "/ceph/osds/%" PRId64 "/stats", j->osds[i]);
		ceph_stats_osd_rate(j->have_prev[i] ? &j->prev[i] : NULL, &j->totals[i],
				    j->elapsed_ms, &rate);
		if (ceph_stats_osd_json(j->osds[i], s->json[1], s->json[2], s->json[3], &rate,
					&b) != 0 ||
		    ceph_client_kv_add(j, path, b.p, b.len, CEPH_KV_OSD) != 0)
			why = "missing from the OSD map";
	}
	if (why == NULL) {
		j->osd_ok[i] = 1;
		return;
	}
	snprintf(line, sizeof(line), "OSD %" PRId64 " skipped (its statistics stay as they were): %s",
		 j->osds[i], why);
	ceph_client_note(j, line);
}

/* this node's OSDs: /ceph/osds/<id>/stats */
static int osd_part(struct ceph_rados *r, struct ceph_job *j, struct sj *s)
{
	static const struct {
		int mgr;
		size_t max;
		const char *cmd;
	} q[4] = {
		{0, CEPH_OUT_MAX, "{\"prefix\": \"osd dump\", \"format\": \"json\"}"},
		{1, CEPH_OUT_MAX, "{\"prefix\": \"osd df\", \"format\": \"json\"}"},
		{0, CEPH_OUT_MAX, "{\"prefix\": \"osd metadata\", \"format\": \"json\"}"},
		{1, CEPH_PGDUMP_MAX,
		 "{\"prefix\": \"pg dump\", \"dumpcontents\": [\"pgs\"], \"format\": \"json\"}"},
	};

	for (int i = 0; i < 4; i++) {
		s->json[1 + i] = ceph_client_json(r, q[i].mgr, q[i].cmd, q[i].max, &s->raw[1 + i],
						  j->osds_err, sizeof(j->osds_err));
		if (s->json[1 + i] == NULL)
			return -1;
	}
	for (int i = 0; i < j->nosds; i++)
		osd_one(j, s, i);
	return 0;
}

/* drop the values from index `from` on (a part that failed half-way) */
static void kv_truncate(struct ceph_job *j, int from)
{
	while (j->nkv > from)
		free(j->kv[--j->nkv].value);
}

int ceph_statjob_run(struct ceph_rados *r, struct ceph_job *j)
{
	struct sj s;
	char *h = NULL;
	size_t hl;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	s.buf = malloc(VAL_MAX);
	if (s.buf == NULL) {
		snprintf(j->err, sizeof(j->err), "out of memory");
		return -1;
	}
	if (ceph_client_command(r, 0, "{\"prefix\": \"health\"}", CEPH_OUT_MAX, &h, &hl, j->err,
				sizeof(j->err)) != 0)
		goto out;
	snprintf(j->health, sizeof(j->health), "%.*s", (int)strcspn(h, " \n"), h);
	free(h);
	rc = 0;
	if (j->primary) {
		j->head_ok = primary_part(r, j, &s) == 0;
		if (!j->head_ok)
			kv_truncate(j, 0);
	}
	if (j->nosds > 0) {
		int from = j->nkv;

		j->osds_ok = osd_part(r, j, &s) == 0;
		if (!j->osds_ok)
			kv_truncate(j, from);
	}
out:
	sj_free(&s);
	return rc;
}
