/*
 * ceph_stats.h: the shapes of the statistics the reference writes (pure;
 * workers/ceph/stats.c, tests/unit/test_ceph_stats.c).
 *
 *   /ceph/pools/<pool>/stats  {"id", "free_bytes", "used_bytes", "used_percent",
 *                              "num_objects", "num_object_clones", "num_object_copies",
 *                              "num_objects_missing_on_primary", "num_objects_unfound",
 *                              "num_objects_degraded", "read_ops", "read_bytes",
 *                              "write_ops", "write_bytes"}
 *   /ceph/osds/<id>/stats     {"uuid", "up", "in", "primary_affinity", "utilization",
 *                              "var", "pgs", "kb", "weight", "reweight", "node", "used",
 *                              "avail", "wr_ops", "wr_data", "rd_ops", "rd_data", "state"}
 *   /ceph/radosdf             the text table of `rados df`
 */
#ifndef CEPH_STATS_H
#define CEPH_STATS_H

#include <stdint.h>

#include "ceph_json.h"

/* librados' rados_pool_stat_t, the fields `rados df` shows */
struct ceph_pool_rstat {
	char name[128];
	uint64_t num_bytes, num_objects, num_object_clones, num_object_copies;
	uint64_t num_objects_missing_on_primary, num_objects_unfound, num_objects_degraded;
	uint64_t num_rd, num_rd_kb, num_wr, num_wr_kb;
	uint64_t compressed_bytes_alloc, compressed_bytes_orig;
};

/* per-second operation rates of one OSD (as `ceph osd status` shows) */
struct ceph_osd_rate {
	uint64_t wr_ops, wr_data, rd_ops, rd_data;
};

/* "1.4 GiB", "581 MiB", "0 B" (rados df) */
void ceph_stats_bytes(uint64_t bytes, char *out, size_t outsz);
/* "290M", "733M", "1.4G" (ceph osd status), from KiB */
void ceph_stats_kb_short(uint64_t kb, char *out, size_t outsz);

/* The pool's stats object from its entry of `ceph df` (mon "df", JSON) and its
 * librados statistics. 0, or -1 (a key missing: nothing written to b). */
int ceph_stats_pool_json(const struct cj *dfpool, const struct ceph_pool_rstat *rs,
			 struct ceph_buf *b);
/* The entry of the pool `name` in df's "pools" (NULL if none). */
const struct cj *ceph_stats_df_pool(const struct cj *df, const char *name);

/* OSD `id`'s stats object from `osd dump`, `osd df` (mgr), `osd metadata` (mon) and
 * its rates. 0, or -1 if the OSD is missing from one of them. */
int ceph_stats_osd_json(int64_t id, const struct cj *dump, const struct cj *df,
			const struct cj *meta, const struct ceph_osd_rate *rate,
			struct ceph_buf *b);

/* Sum the stat_sum of every PG whose acting primary is `id` (mgr `pg dump pgs`):
 * cumulative reads/writes (ops, KiB). -1 if pgdump does not parse as such. */
int ceph_stats_osd_ops(const struct cj *pgdump, int64_t id, struct ceph_osd_rate *total);

/* Per-second rates between two cumulative totals (prev NULL, a counter that went
 * back, or no time: zero, as `ceph osd status` shows an OSD without history). */
void ceph_stats_osd_rate(const struct ceph_osd_rate *prev, const struct ceph_osd_rate *now,
			 uint64_t elapsed_ms, struct ceph_osd_rate *rate);

/* The `rados df` table of n pools and the cluster totals (KiB, objects). */
int ceph_stats_radosdf(const struct ceph_pool_rstat *p, int n, uint64_t kb, uint64_t kb_used,
		       uint64_t kb_avail, uint64_t objects, struct ceph_buf *b);

#endif
