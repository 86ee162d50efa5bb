/*
 * test_zk_values.c: validators and parsers for values read from ZooKeeper
 * (workers/zk/values.c), including the request API path policy (table: lib/policy.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zk_values.h"

static void test_states(void **state)
{
	(void)state;
	assert_true(zk_values_daemonstate("run"));
	assert_true(zk_values_daemonstate("dead"));
	assert_false(zk_values_daemonstate("Run"));
	assert_false(zk_values_daemonstate("run "));
	assert_false(zk_values_daemonstate(""));
	assert_false(zk_values_daemonstate(NULL));
	assert_true(zk_values_routerstate("relinquish"));
	assert_false(zk_values_routerstate("fenced"));
	assert_true(zk_values_domainstate("flushed"));
	assert_false(zk_values_domainstate("flushing"));
	assert_true(zk_values_vmstate("migrate"));
	assert_true(zk_values_vmstate("stopped"));
	assert_false(zk_values_vmstate("running"));
	assert_true(zk_values_selector("None"));
	assert_false(zk_values_selector("none"));
	assert_true(zk_values_pybool("True"));
	assert_false(zk_values_pybool("true"));
}

static void test_names(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(zk_values_node_name("hv1"));
	assert_true(zk_values_node_name("pvc-hv_1.x"));
	assert_false(zk_values_node_name(".hv1"));
	assert_false(zk_values_node_name("-hv1"));
	assert_false(zk_values_node_name("hv 1"));
	assert_false(zk_values_node_name("hv1/"));
	assert_false(zk_values_node_name(""));
	memset(long_name, 'a', 63);
	long_name[63] = '\0';
	assert_true(zk_values_node_name(long_name));
	long_name[63] = 'a';
	long_name[64] = '\0';
	assert_false(zk_values_node_name(long_name));
	assert_true(zk_values_opt_node_name(""));
	assert_true(zk_values_primary("none"));
	assert_true(zk_values_primary("hv2"));
	assert_false(zk_values_primary("hv2\n"));
	assert_true(zk_values_node_list(""));
	assert_true(zk_values_node_list("hv1,hv2"));
	assert_false(zk_values_node_list("hv1,,hv2"));
	assert_false(zk_values_node_list("hv1, hv2"));
	assert_false(zk_values_node_list("hv1,"));
}

static void test_uuids(void **state)
{
	const char *u = "0f8b2c66-4b2e-4a4f-9c3e-0123456789ab";

	(void)state;
	assert_true(zk_values_uuid(u));
	assert_false(zk_values_uuid("0F8B2C66-4b2e-4a4f-9c3e-0123456789ab"));
	assert_false(zk_values_uuid("0f8b2c66-4b2e-4a4f-9c3e-0123456789a"));
	assert_false(zk_values_uuid("0f8b2c6604b2e-4a4f-9c3e-0123456789ab"));
	assert_true(zk_values_uuid_list(""));
	assert_true(zk_values_uuid_list(u));
	assert_true(zk_values_uuid_list("0f8b2c66-4b2e-4a4f-9c3e-0123456789ab "
				  "1f8b2c66-4b2e-4a4f-9c3e-0123456789ab"));
	assert_false(zk_values_uuid_list(" 0f8b2c66-4b2e-4a4f-9c3e-0123456789ab"));
	assert_false(zk_values_uuid_list("0f8b2c66-4b2e-4a4f-9c3e-0123456789ab "));
}

static void test_numbers(void **state)
{
	long long v;
	double d;

	(void)state;
	assert_int_equal(zk_values_int("15934", 0, 100000, &v), 0);
	assert_int_equal(v, 15934);
	assert_int_equal(zk_values_int("-1", -5, 5, &v), 0);
	assert_int_equal(zk_values_int("", 0, 10, &v), -1);
	assert_int_equal(zk_values_int(" 1", 0, 10, &v), -1);
	assert_int_equal(zk_values_int("1x", 0, 10, &v), -1);
	assert_int_equal(zk_values_int("11", 0, 10, &v), -1);
	assert_int_equal(zk_values_int("99999999999999999999", 0, 10, &v), -1);
	assert_int_equal(zk_values_float("0.52", &d), 0);
	assert_true(d > 0.519 && d < 0.521);
	assert_int_equal(zk_values_float("nan", &d), -1);
	assert_int_equal(zk_values_float("1e999", &d), -1);
	assert_int_equal(zk_values_float("0x10", &d), -1);
	assert_true(zk_values_strtobool("True"));
	assert_true(zk_values_strtobool("ON"));
	assert_true(zk_values_strtobool("1"));
	assert_false(zk_values_strtobool("False"));
	assert_false(zk_values_strtobool("maybe"));
	assert_false(zk_values_strtobool(""));
	assert_false(zk_values_strtobool(NULL));
}

static void pyf(double v, const char *want)
{
	char buf[64];

	assert_int_equal(zk_values_pyfloat(v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

/* expected strings are Python 3's str(float) */
static void test_pyfloat(void **state)
{
	char small[3];

	(void)state;
	pyf(0.0, "0.0");
	pyf(1.0, "1.0");
	pyf(0.52, "0.52");
	pyf(12.37, "12.37");
	pyf(12.3, "12.3");
	pyf(100.0, "100.0");
	pyf(0.1 + 0.2, "0.30000000000000004");
	pyf(1e-05, "1e-05");
	pyf(0.0001, "0.0001");
	pyf(1e16, "1e+16");
	pyf(1234567890123456.0, "1234567890123456.0");
	pyf(-2.5, "-2.5");
	pyf(1.5e-7, "1.5e-07");
	assert_int_equal(zk_values_pyfloat(1.0 / 0.0, small, sizeof(small)), -1);
	assert_int_equal(zk_values_pyfloat(12.37, small, sizeof(small)), -1);
}

static void test_contender(void **state)
{
	uint32_t seq = 0;

	(void)state;
	assert_int_equal(zk_values_contender("0123456789abcdef0123456789abcdef__lock__0000000042", &seq), 1);
	assert_int_equal(seq, 42);
	assert_int_equal(zk_values_contender("0123456789abcdef0123456789abcdef__rlock__0000000007", &seq), 2);
	assert_int_equal(seq, 7);
	assert_int_equal(zk_values_contender("0123456789abcdef0123456789abcdeg__lock__0000000042", &seq), 0);
	assert_int_equal(zk_values_contender("0123456789abcdef0123456789abcdef__lock__000000004", &seq), 0);
	assert_int_equal(zk_values_contender("0123456789abcdef0123456789abcdef__lock__00000000x2", &seq), 0);
	assert_int_equal(zk_values_contender("hv1", &seq), 0);
	assert_int_equal(zk_values_contender("0123456789abcdef0123456789abcdef__lock__9999999999", &seq), 0);
	assert_int_equal(zk_values_contender("0123456789abcdef0123456789abcdef__lock__2147483647", &seq), 1);
}

static void test_path(void **state)
{
	(void)state;
	assert_true(zk_values_path("/"));
	assert_true(zk_values_path("/nodes/hv1/domainstate"));
	assert_false(zk_values_path("nodes"));
	assert_false(zk_values_path("/nodes/"));
	assert_false(zk_values_path("/nodes//hv1"));
	assert_false(zk_values_path("/nodes/../primary_node"));
	assert_false(zk_values_path("/nodes/./hv1"));
	assert_false(zk_values_path("/nodes/hv 1"));
	assert_false(zk_values_path("/nodes/\x01"));
}

static void test_meminfo(void **state)
{
	struct zk_values_mem m;
	double la;
	const char *mi = "MemTotal:       16384000 kB\nMemFree:         1024000 kB\n"
			 "MemAvailable:   8000000 kB\nBuffers:          102400 kB\n"
			 "Cached:          2048000 kB\nSwapCached:            0 kB\n"
			 "SReclaimable:     204800 kB\n";

	(void)state;
	assert_int_equal(zk_values_meminfo(mi, &m), 0);
	assert_int_equal(m.total_mib, 16000);
	assert_int_equal(m.free_mib, 1000);
	/* 16384000 - 1024000 - 102400 - (2048000 + 204800) = 13004800 kB */
	assert_int_equal(m.used_mib, 12700);
	assert_int_equal(zk_values_meminfo("MemFree: 1 kB\n", &m), -1);
	assert_int_equal(zk_values_meminfo("garbage", &m), -1);
	assert_int_equal(zk_values_loadavg("0.52 0.40 0.30 1/234 5678\n", &la), 0);
	assert_true(la > 0.519 && la < 0.521);
	assert_int_equal(zk_values_loadavg("", &la), -1);
	assert_int_equal(zk_values_loadavg("abc 1", &la), -1);
}

#define VM 2
#define FLUSH 4
#define CTL 10 /* ROLE_CTL */
#define U "/domains/0f8b2c66-4b2e-4a4f-9c3e-0123456789ab"

static void test_policy(void **state)
{
	int v;

	(void)state;
	assert_true(zk_values_policy_read(VM, "/domains"));
	assert_true(zk_values_policy_read(FLUSH, "/nodes/hv2/domainstate"));
	assert_true(zk_values_policy_read(CTL, "/primary_node"));
	assert_false(zk_values_policy_read(CTL, "/ceph"));
	assert_false(zk_values_policy_read(CTL, "/nodesX"));
	assert_false(zk_values_policy_read(3, "/nodes"));
	assert_false(zk_values_policy_read(VM, "/nodes/../ceph"));

	assert_true(zk_values_policy_write(VM, "hv1", "set", U "/state", "start", &v));
	assert_int_equal(v, -1);
	assert_true(zk_values_policy_write(VM, "hv1", "setv:7", U "/state", "stop", &v));
	assert_int_equal(v, 7);
	assert_false(zk_values_policy_write(VM, "hv1", "setv:-1", U "/state", "stop", &v));
	assert_false(zk_values_policy_write(VM, "hv1", "setv:x", U "/state", "stop", &v));
	assert_false(zk_values_policy_write(VM, "hv1", "set", U "/state", "bogus", &v));
	assert_true(zk_values_policy_write(VM, "hv1", "set", U "/failedreason", "any text", &v));
	assert_false(zk_values_policy_write(VM, "hv1", "set", U "/node", "hv2", &v));
	assert_false(zk_values_policy_write(VM, "hv1", "set", "/domains/notauuid/state", "start", &v));
	assert_false(zk_values_policy_write(VM, "hv1", "rm", U "/state", "start", &v));

	assert_true(zk_values_policy_write(FLUSH, "hv1", "set", U "/node", "hv2", &v));
	assert_true(zk_values_policy_write(FLUSH, "hv1", "set", U "/lastnode", "", &v));
	assert_false(zk_values_policy_write(FLUSH, "hv1", "set", U "/node", "", &v));
	assert_true(zk_values_policy_write(FLUSH, "hv1", "set", U "/node_autostart", "True", &v));
	assert_false(zk_values_policy_write(FLUSH, "hv1", "set", U "/node_autostart", "yes", &v));
	assert_true(zk_values_policy_write(FLUSH, "hv1", "set", "/nodes/hv1/domainstate", "flushed", &v));
	assert_false(zk_values_policy_write(FLUSH, "hv1", "set", "/nodes/hv2/domainstate", "flushed", &v));
	assert_true(zk_values_policy_write(FLUSH, "hv1", "set", "/nodes/hv1/runningdomains", "", &v));
	assert_false(zk_values_policy_write(FLUSH, "hv1", "set", "/nodes/hv1/routerstate", "primary", &v));
	assert_false(zk_values_policy_write(FLUSH, "hv1", "set", "/primary_node", "hv1", &v));

	assert_true(zk_values_policy_write(CTL, "hv1", "set", "/primary_node", "hv3", &v));
	assert_true(zk_values_policy_write(CTL, "hv1", "set", "/primary_node", "none", &v));
	assert_false(zk_values_policy_write(CTL, "hv1", "set", "/primary_node", "hv 3", &v));
	assert_false(zk_values_policy_write(CTL, "hv1", "delete", "/primary_node", "", &v));
	assert_true(zk_values_policy_write(CTL, "hv1", "set", "/nodes/hv3/domainstate", "flush", &v));
	assert_false(zk_values_policy_write(CTL, "hv1", "set", "/nodes/hv3/domainstate", "gone", &v));
	assert_false(zk_values_policy_write(CTL, "hv1", "set", U "/state", "start", &v));
	assert_true(zk_values_policy_write(VM, "hv1", "delete", U "/consolelog", "", &v));
	assert_false(zk_values_policy_write(VM, "hv1", "delete", U "/consolelog", "x", &v));
}

static void test_excerpt(void **state)
{
	char out[64], big[300];

	(void)state;
	assert_string_equal(zk_values_excerpt("run", 3, out, sizeof(out)), "run");
	assert_string_equal(zk_values_excerpt(NULL, 0, out, sizeof(out)), "(empty)");
	assert_string_equal(zk_values_excerpt("a\0b\n\xff", 5, out, sizeof(out)), "a\\x00b\\x0a\\xff");
	memset(big, 'x', sizeof(big));
	zk_values_excerpt(big, (int)sizeof(big), out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "..."));
	memset(big, 0, sizeof(big));
	zk_values_excerpt(big, (int)sizeof(big), out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "..."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),   cmocka_unit_test(test_names),
		cmocka_unit_test(test_uuids),    cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_pyfloat),  cmocka_unit_test(test_contender),
		cmocka_unit_test(test_path),     cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_excerpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
