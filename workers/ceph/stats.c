/*
 * stats.c: the reference's statistics, shaped from the JSON answers of Ceph
 * (ceph_stats.h). Pure: no I/O, so that tests/unit/test_ceph_stats.c and the fuzz
 * target can drive it. Keys and their order follow the reference's Daemon.py
 * (keepalive storage part) so that PVC's client library reads them unchanged.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ceph_stats.h"

void ceph_stats_bytes(uint64_t bytes, char *out, size_t outsz)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024.0 && u < 6) {
		v /= 1024.0;
		u++;
	}
	if (u == 0 || v >= 10.0 || v == (double)(uint64_t)v)
		snprintf(out, outsz, "%.0f %s", v, unit[u]);
	else
		snprintf(out, outsz, "%.1f %s", v, unit[u]);
}

void ceph_stats_kb_short(uint64_t kb, char *out, size_t outsz)
{
	static const char unit[] = "KMGTPE";
	double v = (double)kb;
	int u = 0;

	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (v >= 10.0 || v == (double)(uint64_t)v)
		snprintf(out, outsz, "%.0f%c", v, unit[u]);
	else
		snprintf(out, outsz, "%.1f%c", v, unit[u]);
}

const struct cj *ceph_stats_df_pool(const struct cj *df, const char *name)
{
	const struct cj *pools = ceph_json_get(df, "pools");
	char n[256];

	if (pools == NULL || pools->type != CJ_ARR)
		return NULL;
	for (const struct cj *p = pools->child; p; p = p->next)
		if (ceph_json_str(ceph_json_get(p, "name"), n, sizeof(n)) == 0 &&
		    strcmp(n, name) == 0)
			return p;
	return NULL;
}

int ceph_stats_pool_json(const struct cj *dfpool, const struct ceph_pool_rstat *rs,
			 struct ceph_buf *b)
{
	const struct cj *st = ceph_json_get(dfpool, "stats");
	const struct cj *id = ceph_json_get(dfpool, "id");
	const struct cj *f[4] = {ceph_json_get(st, "max_avail"), ceph_json_get(st, "bytes_used"),
				 ceph_json_get(st, "percent_used"), ceph_json_get(st, "objects")};
	size_t start = b->len;

	if (id == NULL || id->type != CJ_NUM)
		return -1;
	for (int i = 0; i < 4; i++)
		if (f[i] == NULL || f[i]->type != CJ_NUM)
			return -1;
	ceph_json_put(b, "{\"id\": ");
	ceph_json_put_raw(b, id);
	ceph_json_put(b, ", \"free_bytes\": ");
	ceph_json_put_raw(b, f[0]);
	ceph_json_put(b, ", \"used_bytes\": ");
	ceph_json_put_raw(b, f[1]);
	ceph_json_put(b, ", \"used_percent\": ");
	ceph_json_put_raw(b, f[2]);
	ceph_json_put(b, ", \"num_objects\": ");
	ceph_json_put_raw(b, f[3]);
	ceph_json_put(b,
		      ", \"num_object_clones\": %" PRIu64 ", \"num_object_copies\": %" PRIu64
		      ", \"num_objects_missing_on_primary\": %" PRIu64
		      ", \"num_objects_unfound\": %" PRIu64 ", \"num_objects_degraded\": %" PRIu64
		      ", \"read_ops\": %" PRIu64 ", \"read_bytes\": %" PRIu64
		      ", \"write_ops\": %" PRIu64 ", \"write_bytes\": %" PRIu64 "}",
		      rs->num_object_clones, rs->num_object_copies,
		      rs->num_objects_missing_on_primary, rs->num_objects_unfound,
		      rs->num_objects_degraded, rs->num_rd, rs->num_rd_kb * 1024, rs->num_wr,
		      rs->num_wr_kb * 1024);
	if (b->err) {
		b->len = start;
		return -1;
	}
	return 0;
}

/* the element of array `arr` whose member `key` is the number id */
static const struct cj *find_by_id(const struct cj *arr, const char *key, int64_t id)
{
	int64_t v;

	if (arr == NULL || arr->type != CJ_ARR)
		return NULL;
	for (const struct cj *e = arr->child; e; e = e->next)
		if (ceph_json_int(ceph_json_get(e, key), &v) == 0 && v == id)
			return e;
	return NULL;
}

/* "exists,up" from osd dump's "state" array */
static int put_state(struct ceph_buf *b, const struct cj *state)
{
	char s[64], all[256] = "";

	if (state == NULL || state->type != CJ_ARR)
		return -1;
	for (const struct cj *e = state->child; e; e = e->next) {
		if (ceph_json_str(e, s, sizeof(s)) != 0)
			return -1;
		if (strlen(all) + strlen(s) + 2 > sizeof(all))
			return -1;
		if (all[0])
			strcat(all, ",");
		strcat(all, s);
	}
	ceph_json_put_str(b, all);
	return 0;
}

int ceph_stats_osd_json(int64_t id, const struct cj *dump, const struct cj *df,
			const struct cj *meta, const struct ceph_osd_rate *rate,
			struct ceph_buf *b)
{
	const struct cj *d = find_by_id(ceph_json_get(dump, "osds"), "osd", id);
	const struct cj *f = find_by_id(ceph_json_get(df, "nodes"), "id", id);
	const struct cj *m = find_by_id(meta, "id", id);
	char uuid[64], host[256], used[32], avail[32];
	int64_t kb_used, kb_avail;
	size_t start = b->len;

	if (d == NULL || f == NULL || m == NULL ||
	    ceph_json_str(ceph_json_get(d, "uuid"), uuid, sizeof(uuid)) != 0 ||
	    ceph_json_str(ceph_json_get(m, "hostname"), host, sizeof(host)) != 0 ||
	    ceph_json_int(ceph_json_get(f, "kb_used"), &kb_used) != 0 ||
	    ceph_json_int(ceph_json_get(f, "kb_avail"), &kb_avail) != 0 || kb_used < 0 ||
	    kb_avail < 0)
		return -1;
	/* the reference keeps the short host name (its split('.')[0]) */
	host[strcspn(host, ".")] = '\0';
	ceph_stats_kb_short((uint64_t)kb_used, used, sizeof(used));
	ceph_stats_kb_short((uint64_t)kb_avail, avail, sizeof(avail));
	ceph_json_put(b, "{\"uuid\": ");
	ceph_json_put_str(b, uuid);
	ceph_json_put(b, ", \"up\": ");
	ceph_json_put_raw(b, ceph_json_get(d, "up"));
	ceph_json_put(b, ", \"in\": ");
	ceph_json_put_raw(b, ceph_json_get(d, "in"));
	ceph_json_put(b, ", \"primary_affinity\": ");
	ceph_json_put_raw(b, ceph_json_get(d, "primary_affinity"));
	ceph_json_put(b, ", \"utilization\": ");
	ceph_json_put_raw(b, ceph_json_get(f, "utilization"));
	ceph_json_put(b, ", \"var\": ");
	ceph_json_put_raw(b, ceph_json_get(f, "var"));
	ceph_json_put(b, ", \"pgs\": ");
	ceph_json_put_raw(b, ceph_json_get(f, "pgs"));
	ceph_json_put(b, ", \"kb\": ");
	ceph_json_put_raw(b, ceph_json_get(f, "kb"));
	ceph_json_put(b, ", \"weight\": ");
	ceph_json_put_raw(b, ceph_json_get(f, "crush_weight"));
	ceph_json_put(b, ", \"reweight\": ");
	ceph_json_put_raw(b, ceph_json_get(f, "reweight"));
	ceph_json_put(b, ", \"node\": ");
	ceph_json_put_str(b, host);
	ceph_json_put(b, ", \"used\": \"%s\", \"avail\": \"%s\"", used, avail);
	ceph_json_put(b,
		      ", \"wr_ops\": \"%" PRIu64 "\", \"wr_data\": \"%" PRIu64
		      "\", \"rd_ops\": \"%" PRIu64 "\", \"rd_data\": \"%" PRIu64 "\", \"state\": ",
		      rate->wr_ops, rate->wr_data, rate->rd_ops, rate->rd_data);
	if (put_state(b, ceph_json_get(d, "state")) != 0 || (ceph_json_put(b, "}"), b->err)) {
		b->len = start;
		b->p[start] = '\0';
		return -1;
	}
	return 0;
}

int ceph_stats_osd_ops(const struct cj *pgdump, int64_t id, struct ceph_osd_rate *total)
{
	const struct cj *pgs = ceph_json_get(pgdump, "pg_stats");

	memset(total, 0, sizeof(*total));
	if (pgs == NULL || pgs->type != CJ_ARR)
		return -1;
	for (const struct cj *pg = pgs->child; pg; pg = pg->next) {
		const struct cj *sum = ceph_json_get(pg, "stat_sum");
		int64_t prim, v[4];

		if (ceph_json_int(ceph_json_get(pg, "acting_primary"), &prim) != 0 || prim != id)
			continue;
		if (ceph_json_int(ceph_json_get(sum, "num_write"), &v[0]) != 0 ||
		    ceph_json_int(ceph_json_get(sum, "num_write_kb"), &v[1]) != 0 ||
		    ceph_json_int(ceph_json_get(sum, "num_read"), &v[2]) != 0 ||
		    ceph_json_int(ceph_json_get(sum, "num_read_kb"), &v[3]) != 0)
			return -1;
		for (int i = 0; i < 4; i++)
			if (v[i] < 0)
				return -1;
		total->wr_ops += (uint64_t)v[0];
		total->wr_data += (uint64_t)v[1] * 1024;
		total->rd_ops += (uint64_t)v[2];
		total->rd_data += (uint64_t)v[3] * 1024;
	}
	return 0;
}

static uint64_t per_s(uint64_t a, uint64_t b, uint64_t ms)
{
	return b >= a ? (b - a) * 1000 / ms : 0;
}

void ceph_stats_osd_rate(const struct ceph_osd_rate *prev, const struct ceph_osd_rate *now,
			 uint64_t elapsed_ms, struct ceph_osd_rate *rate)
{
	memset(rate, 0, sizeof(*rate));
	if (prev == NULL || elapsed_ms == 0)
		return;
	rate->wr_ops = per_s(prev->wr_ops, now->wr_ops, elapsed_ms);
	rate->wr_data = per_s(prev->wr_data, now->wr_data, elapsed_ms);
	rate->rd_ops = per_s(prev->rd_ops, now->rd_ops, elapsed_ms);
	rate->rd_data = per_s(prev->rd_data, now->rd_data, elapsed_ms);
}

int ceph_stats_radosdf(const struct ceph_pool_rstat *p, int n, uint64_t kb, uint64_t kb_used,
		       uint64_t kb_avail, uint64_t objects, struct ceph_buf *b)
{
	int w = 9;
	char h[6][32];

	for (int i = 0; i < n; i++)
		if ((int)strlen(p[i].name) > w)
			w = (int)strlen(p[i].name);
	ceph_json_put(b,
		      "%-*s  %10s  %7s  %6s  %6s  %18s  %7s  %8s  %6s  %10s  %6s  %10s  %10s  %11s\n",
		      w, "POOL_NAME", "USED", "OBJECTS", "CLONES", "COPIES", "MISSING_ON_PRIMARY",
		      "UNFOUND", "DEGRADED", "RD_OPS", "RD", "WR_OPS", "WR", "USED COMPR",
		      "UNDER COMPR");
	for (int i = 0; i < n; i++) {
		ceph_stats_bytes(p[i].num_bytes, h[0], sizeof(h[0]));
		ceph_stats_bytes(p[i].num_rd_kb * 1024, h[1], sizeof(h[1]));
		ceph_stats_bytes(p[i].num_wr_kb * 1024, h[2], sizeof(h[2]));
		ceph_stats_bytes(p[i].compressed_bytes_alloc, h[3], sizeof(h[3]));
		ceph_stats_bytes(p[i].compressed_bytes_orig, h[4], sizeof(h[4]));
		ceph_json_put(b,
			      "%-*s  %10s  %7" PRIu64 "  %6" PRIu64 "  %6" PRIu64 "  %18" PRIu64
			      "  %7" PRIu64 "  %8" PRIu64 "  %6" PRIu64 "  %10s  %6" PRIu64
			      "  %10s  %10s  %11s\n",
			      w, p[i].name, h[0], p[i].num_objects, p[i].num_object_clones,
			      p[i].num_object_copies, p[i].num_objects_missing_on_primary,
			      p[i].num_objects_unfound, p[i].num_objects_degraded, p[i].num_rd, h[1],
			      p[i].num_wr, h[2], h[3], h[4]);
	}
	ceph_stats_bytes(kb_used * 1024, h[0], sizeof(h[0]));
	ceph_stats_bytes(kb_avail * 1024, h[1], sizeof(h[1]));
	ceph_stats_bytes(kb * 1024, h[2], sizeof(h[2]));
	ceph_json_put(b,
		      "\ntotal_objects    %" PRIu64 "\ntotal_used       %s\ntotal_avail      %s\n"
		      "total_space      %s\n",
		      objects, h[0], h[1], h[2]);
	return b->err ? -1 : 0;
}
