/*
 * fuzz_cephjson.c: libFuzzer target for the ceph worker's reader of Ceph's JSON
 * answers and the statistics built from them (workers/ceph/json.c, stats.c).
 *
 * The input is split at the first four NUL bytes into up to five documents, taken
 * as the answers of `df`, `osd dump`, `osd df`, `osd metadata` and `pg dump`. Each
 * that parses is walked completely; then the pool and OSD statistics are built from
 * them: every value built must itself parse as JSON (never a partial or broken value),
 * and a failed build must leave the buffer as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ceph_json.h"
#include "ceph_stats.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

static void walk(const struct cj *n, int depth)
{
	char s[64];
	int64_t i;
	double d;

	check(depth <= CEPH_JSON_DEPTH_MAX + 1);
	for (; n; n = n->next) {
		(void)ceph_json_int(n, &i);
		(void)ceph_json_double(n, &d);
		(void)ceph_json_str(n, s, sizeof(s));
		walk(n->child, depth + 1);
	}
}

static void built(const struct ceph_buf *b, int rc, size_t before)
{
	struct cj *n;

	if (rc != 0) {
		check(b->len == before);
		return;
	}
	n = ceph_json_parse(b->p + before, b->len - before);
	check(n != NULL);
	ceph_json_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cj *doc[5] = {NULL};
	const char *p = (const char *)data, *end = p + size;
	static char mem[8192];
	struct ceph_buf b;
	struct ceph_pool_rstat rs;
	struct ceph_osd_rate rate;

	for (int k = 0; k < 5 && p <= end; k++) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		size_t len = z ? (size_t)(z - p) : (size_t)(end - p);
		doc[k] = ceph_json_parse(p, len);
		walk(doc[k], 0);
		if (z == NULL)
			break;
		p = z + 1;
	}
	memset(&rs, 0, sizeof(rs));
	if (doc[0]) {
		const struct cj *pools = ceph_json_get(doc[0], "pools");
		for (const struct cj *e = pools ? pools->child : NULL; e; e = e->next) {
			ceph_json_buf_init(&b, mem, sizeof(mem));
			built(&b, ceph_stats_pool_json(e, &rs, &b), 0);
		}
		(void)ceph_stats_df_pool(doc[0], "vms");
	}
	for (int64_t id = 0; id < 3; id++) {
		if (doc[4])
			(void)ceph_stats_osd_ops(doc[4], id, &rate);
		memset(&rate, 0, sizeof(rate));
		ceph_json_buf_init(&b, mem, sizeof(mem));
		built(&b, ceph_stats_osd_json(id, doc[1], doc[2], doc[3], &rate, &b), 0);
	}
	for (int k = 0; k < 5; k++)
		ceph_json_free(doc[k]);
	return 0;
}
