/* test_ceph_stats.c: the JSON reader of the ceph worker and the shapes of the
 * statistics it writes (workers/ceph/json.c, stats.c), on answers recorded from a
 * real Ceph 16. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ceph_json.h"
#include "ceph_stats.h"

static const char DF[] =
	"{\"stats\":{\"total_bytes\":2147483648},\"pools\":[{\"name\":\"device_health_metrics\","
	"\"id\":1,\"stats\":{\"stored\":0,\"objects\":0,\"kb_used\":0,\"bytes_used\":0,"
	"\"percent_used\":0,\"max_avail\":715603136}},{\"name\":\"vms\",\"id\":2,\"stats\":"
	"{\"stored\":73,\"objects\":5,\"kb_used\":24,\"bytes_used\":24576,\"percent_used\":"
	"1.7171234503621235e-05,\"max_avail\":715603136}}]}";
static const char DUMP[] =
	"{\"epoch\":20,\"osds\":[{\"osd\":0,\"uuid\":\"5ddff44a-a8d6-423e-a3a6-6308b680cc16\","
	"\"up\":1,\"in\":1,\"weight\":1,\"primary_affinity\":1,\"state\":[\"exists\",\"up\"]},"
	"{\"osd\":1,\"uuid\":\"c53f65ca-c82d-4fbe-9bd2-152419724957\",\"up\":0,\"in\":1,"
	"\"weight\":1,\"primary_affinity\":0.5,\"state\":[\"exists\"]}]}";
static const char OSDDF[] =
	"{\"nodes\":[{\"id\":0,\"name\":\"osd.0\",\"crush_weight\":0.0009918212890625,"
	"\"reweight\":1,\"kb\":1048576,\"kb_used\":297316,\"kb_avail\":751260,\"utilization\":"
	"28.354263305664062,\"var\":1,\"pgs\":33,\"status\":\"up\"},{\"id\":1,\"crush_weight\":1,"
	"\"reweight\":1,\"kb\":1048576,\"kb_used\":1,\"kb_avail\":2,\"utilization\":0,\"var\":0,"
	"\"pgs\":0}],\"stray\":[]}";
static const char META[] = "[{\"id\":0,\"hostname\":\"hv1.example.org\"},{\"id\":1,"
			   "\"hostname\":\"hv2\"}]";
static const char PGS[] =
	"{\"pg_stats\":[{\"pgid\":\"2.0\",\"acting_primary\":0,\"stat_sum\":{\"num_read\":5,"
	"\"num_read_kb\":3,\"num_write\":7,\"num_write_kb\":4}},{\"pgid\":\"2.1\","
	"\"acting_primary\":1,\"stat_sum\":{\"num_read\":100,\"num_read_kb\":100,\"num_write\":"
	"100,\"num_write_kb\":100}},{\"pgid\":\"2.2\",\"acting_primary\":0,\"stat_sum\":"
	"{\"num_read\":1,\"num_read_kb\":1,\"num_write\":1,\"num_write_kb\":1}}]}";

static struct cj *parse(const char *s)
{
	struct cj *n = ceph_json_parse(s, strlen(s));

	assert_non_null(n);
	return n;
}

static void test_json_reader(void **state)
{
	struct cj *n = parse(" {\"a\": [1, -2.5e3, true, null, \"x\\\"\\u0041\\n\"], \"b\": {}} ");
	const struct cj *a = ceph_json_get(n, "a");
	char s[16];
	int64_t i;
	double d;

	(void)state;
	assert_non_null(a);
	assert_int_equal(a->type, CJ_ARR);
	assert_int_equal(ceph_json_int(a->child, &i), 0);
	assert_int_equal(i, 1);
	assert_int_equal(ceph_json_double(a->child->next, &d), 0);
	assert_true(d == -2500.0);
	assert_int_equal(ceph_json_int(a->child->next, &i), -1); /* not an integer */
	assert_int_equal(a->child->next->next->type, CJ_BOOL);
	assert_int_equal(a->child->next->next->next->type, CJ_NULL);
	assert_int_equal(ceph_json_str(a->child->next->next->next->next, s, sizeof(s)), 0);
	assert_string_equal(s, "x\"A\n");
	assert_int_equal(ceph_json_str(a->child->next->next->next->next, s, 4), -1);
	assert_null(ceph_json_get(n, "c"));
	assert_null(ceph_json_get(a, "a"));
	ceph_json_free(n);
	/* garbage and truncation are refused, never half-read */
	static const char *const bad[] = {"", "{", "[1,]", "{\"a\" 1}", "[1] x", "\"abc",
					  "tru", "-", "1.", "{\"a\":\"\\", "[\"\x01\"]", "{1:2}",
					  /* numbers: RFC 8259's grammar, nothing looser */
					  "1+2", "1.2.3", "[1-2]", "01", "-01", "+1", ".5", "1e", "1e+",
					  "1.e3", "--1", "1E5e", "[0x10]", "1.5-"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_null(ceph_json_parse(bad[k], strlen(bad[k])));
	/* the whole number grammar is still taken */
	{
		static const char *const good[] = {"0", "-0", "10", "-0.5", "1e5", "1E+5", "2.5e-3",
						   "[0,1,-2]", "123456789012"};
		for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
			struct cj *g = ceph_json_parse(good[k], strlen(good[k]));
			assert_non_null(g);
			ceph_json_free(g);
		}
	}
	/* nesting is bounded */
	{
		char deep[200];
		memset(deep, '[', 100);
		memset(deep + 100, ']', 100);
		assert_null(ceph_json_parse(deep, sizeof(deep)));
	}
}

static void test_pool_stats(void **state)
{
	struct cj *df = parse(DF);
	struct ceph_pool_rstat rs = {.name = "vms", .num_objects = 5, .num_object_copies = 10,
				     .num_rd = 5, .num_rd_kb = 3, .num_wr = 6, .num_wr_kb = 5};
	char mem[1024];
	struct ceph_buf b;
	const struct cj *p = ceph_stats_df_pool(df, "vms");

	(void)state;
	assert_non_null(p);
	assert_null(ceph_stats_df_pool(df, "nope"));
	ceph_json_buf_init(&b, mem, sizeof(mem));
	assert_int_equal(ceph_stats_pool_json(p, &rs, &b), 0);
	assert_string_equal(mem,
			    "{\"id\": 2, \"free_bytes\": 715603136, \"used_bytes\": 24576, "
			    "\"used_percent\": 1.7171234503621235e-05, \"num_objects\": 5, "
			    "\"num_object_clones\": 0, \"num_object_copies\": 10, "
			    "\"num_objects_missing_on_primary\": 0, \"num_objects_unfound\": 0, "
			    "\"num_objects_degraded\": 0, \"read_ops\": 5, \"read_bytes\": 3072, "
			    "\"write_ops\": 6, \"write_bytes\": 5120}");
	/* too small a buffer: an error, nothing partial kept */
	ceph_json_buf_init(&b, mem, 40);
	assert_int_equal(ceph_stats_pool_json(p, &rs, &b), -1);
	assert_int_equal(b.len, 0);
	ceph_json_free(df);
}

static void test_osd_stats(void **state)
{
	struct cj *dump = parse(DUMP), *df = parse(OSDDF), *meta = parse(META), *pgs = parse(PGS);
	struct ceph_osd_rate t0, t1, rate;
	char mem[1024];
	struct ceph_buf b;

	(void)state;
	assert_int_equal(ceph_stats_osd_ops(pgs, 0, &t0), 0);
	assert_true(t0.rd_ops == 6 && t0.rd_data == 4096 && t0.wr_ops == 8 && t0.wr_data == 5120);
	t1 = t0;
	t1.wr_ops += 20;
	t1.rd_data += 2048;
	ceph_stats_osd_rate(&t0, &t1, 2000, &rate);
	assert_true(rate.wr_ops == 10 && rate.rd_data == 1024 && rate.rd_ops == 0);
	ceph_stats_osd_rate(NULL, &t1, 2000, &rate);
	assert_true(rate.wr_ops == 0 && rate.wr_data == 0);
	ceph_stats_osd_rate(&t1, &t0, 2000, &rate); /* counters went back (OSD restarted) */
	assert_true(rate.wr_ops == 0);
	rate.wr_ops = 3;
	rate.wr_data = 4096;
	ceph_json_buf_init(&b, mem, sizeof(mem));
	assert_int_equal(ceph_stats_osd_json(0, dump, df, meta, &rate, &b), 0);
	assert_string_equal(mem,
			    "{\"uuid\": \"5ddff44a-a8d6-423e-a3a6-6308b680cc16\", \"up\": 1, "
			    "\"in\": 1, \"primary_affinity\": 1, \"utilization\": "
			    "28.354263305664062, \"var\": 1, \"pgs\": 33, \"kb\": 1048576, "
			    "\"weight\": 0.0009918212890625, \"reweight\": 1, \"node\": \"hv1\", "
			    "\"used\": \"290M\", \"avail\": \"734M\", \"wr_ops\": \"3\", "
			    "\"wr_data\": \"4096\", \"rd_ops\": \"0\", \"rd_data\": \"0\", "
			    "\"state\": \"exists,up\"}");
	ceph_json_buf_init(&b, mem, sizeof(mem));
	assert_int_equal(ceph_stats_osd_json(7, dump, df, meta, &rate, &b), -1); /* no such OSD */
	assert_int_equal(ceph_stats_osd_json(1, dump, df, NULL, &rate, &b), -1);
	ceph_json_free(dump);
	ceph_json_free(df);
	ceph_json_free(meta);
	ceph_json_free(pgs);
}

static void test_human_and_radosdf(void **state)
{
	char s[32], mem[2048];
	struct ceph_buf b;
	struct ceph_pool_rstat p[1] = {{.name = "vms", .num_bytes = 24576, .num_objects = 5,
					.num_object_copies = 10, .num_rd = 5, .num_rd_kb = 3}};

	(void)state;
	ceph_stats_bytes(0, s, sizeof(s));
	assert_string_equal(s, "0 B");
	ceph_stats_bytes(24576, s, sizeof(s));
	assert_string_equal(s, "24 KiB");
	ceph_stats_bytes(609222656, s, sizeof(s));
	assert_string_equal(s, "581 MiB");
	ceph_stats_bytes(1538580480, s, sizeof(s));
	assert_string_equal(s, "1.4 GiB");
	ceph_stats_kb_short(297316, s, sizeof(s));
	assert_string_equal(s, "290M");
	ceph_json_buf_init(&b, mem, sizeof(mem));
	assert_int_equal(ceph_stats_radosdf(p, 1, 2097152, 594632, 1502520, 5, &b), 0);
	assert_non_null(strstr(mem, "POOL_NAME"));
	assert_non_null(strstr(mem, "\nvms "));
	assert_non_null(strstr(mem, "total_objects    5\ntotal_used       581 MiB\n"));
	assert_non_null(strstr(mem, "total_space      2 GiB\n"));
	ceph_json_buf_init(&b, mem, 64);
	assert_int_equal(ceph_stats_radosdf(p, 1, 1, 1, 1, 1, &b), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_reader),
		cmocka_unit_test(test_pool_stats),
		cmocka_unit_test(test_osd_stats),
		cmocka_unit_test(test_human_and_radosdf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
