/*
 * test_net_primary.c: the pure parts of workers/net/primary.c: the network list
 * entries from zk-election (untrusted), and the lifetime/lease arithmetic that keeps
 * two nodes from holding a floating IP at once (docs/net-router.md).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net_primary.h"

static void test_parse_good(void **state)
{
	struct netp_net n;
	char err[200];
	uint8_t a4[4] = {10, 100, 0, 1};

	assert_int_equal(net_primary_parse_network("vni=100 gw4=10.100.0.1/24 gw6=None", &n, err, sizeof(err)), 0);
	assert_int_equal(n.vni, 100);
	assert_int_equal(n.has4, 1);
	assert_int_equal(n.has6, 0);
	assert_int_equal(n.gw4.prefix, 24);
	assert_memory_equal(n.gw4.addr, a4, 4);
	assert_int_equal(net_primary_parse_network("gw6=fd00:1::1/64 vni=16777215", &n, err, sizeof(err)), 0);
	assert_int_equal(n.vni, 16777215);
	assert_int_equal(n.has4, 0);
	assert_int_equal(n.has6, 1);
	assert_int_equal(n.gw6.family, AF_INET6);
	assert_int_equal(n.gw6.prefix, 64);
	assert_int_equal(net_primary_parse_network("vni=5", &n, err, sizeof(err)), 0);
	assert_int_equal(n.has4 + n.has6, 0);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"gw4=10.0.0.1/24",
		"vni=0 gw4=None gw6=None",
		"vni=16777216",
		"vni=abc",
		"vni=-1",
		"vni=1 vni=2",
		"vni=1 gw4=10.0.0.1",
		"vni=1 gw4=10.0.0.1/33",
		"vni=1 gw4=10.0.0.1/0",
		"vni=1 gw4=10.0.0.1/24x",
		"vni=1 gw4=10.0.0.256/24",
		"vni=1 gw4=224.0.0.1/24",
		"vni=1 gw4=127.0.0.1/8",
		"vni=1 gw4=fd00::1/64",
		"vni=1 gw6=fd00::1/129",
		"vni=1 gw6=ff02::1/64",
		"vni=1 gw6=::/64",
		"vni=1 gw6=10.0.0.1/24",
		"vni=1 dev=eth0",
		"vni=1 gw4",
		"vni=1 gw4=None gw4=None",
		"vni=1 gw4=../../etc/24",
	};
	struct netp_net n;
	char err[200], long_entry[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (net_primary_parse_network(bad[i], &n, err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(err[0] != '\0');
	}
	memset(long_entry, 'x', sizeof(long_entry) - 1);
	long_entry[sizeof(long_entry) - 1] = '\0';
	memcpy(long_entry, "vni=1 ", 6);
	assert_int_equal(net_primary_parse_network(long_entry, &n, err, sizeof(err)), -1);
	/* the message names the offending value */
	assert_int_equal(net_primary_parse_network("vni=1 gw4=10.0.0.1/99", &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "10.0.0.1/99"));
}

static void test_lease_and_tick(void **state)
{
	assert_true(net_primary_lease_ok(1000, 1001));
	assert_false(net_primary_lease_ok(1001, 1001));
	assert_false(net_primary_lease_ok(2000, 1001));
	assert_true(net_primary_lease_plausible(1000, 1000 + NETP_LEASE_MAX_AHEAD_MS));
	assert_false(net_primary_lease_plausible(1000, 1001 + NETP_LEASE_MAX_AHEAD_MS));
	assert_false(net_primary_lease_plausible(1000, UINT64_MAX));
	assert_int_equal(net_primary_next_tick_ms(1000, 0, 0), NETP_REFRESH_MS);
	assert_int_equal(net_primary_next_tick_ms(1000, 1, 5000), NETP_REFRESH_MS);
	assert_int_equal(net_primary_next_tick_ms(1000, 1, 1100), 100); /* cut short by the lease */
	assert_int_equal(net_primary_next_tick_ms(1000, 1, 900), 0);
}

/*
 * DESIGN.md §3: zk-election's lease ends at t_ok + T - (L + 1 s) - 500 ms, and the
 * server cannot expire the session (so no other node can take the lock) before
 * t_ok + T. A refresh at any moment before the lease ends must let the address
 * vanish before t_ok + T, for every session timeout the config allows.
 */
static void test_cut_off_primary_is_safe(void **state)
{
	const uint64_t t_ok = 1000000;

	for (uint64_t T = 3000; T <= 60000; T += 50) {
		uint64_t lease = t_ok + T - ((uint64_t)NETP_LIFETIME_S * 1000 + 1000) - 500;
		uint64_t last_refresh = lease - 1; /* the latest net_primary_lease_ok allows */

		assert_true(net_primary_lease_ok(last_refresh, lease));
		assert_false(net_primary_lease_ok(lease, lease));
		if (net_primary_linger_until_ms(last_refresh) >= t_ok + T)
			fail_msg("T=%llu: address may linger until %llu, session may expire at %llu",
				 (unsigned long long)T,
				 (unsigned long long)net_primary_linger_until_ms(last_refresh),
				 (unsigned long long)(t_ok + T));
	}
}

/*
 * A killed daemon: its last refresh is at most its death d; the lock vanishes no
 * earlier than d + 2T/3; the taker waits D = max(0, (L+1) s + 250 ms - 2T/3). The
 * address must be gone by then. Also: the refresh period must leave headroom
 * within the lifetime, or a live primary would flap.
 */
static void test_killed_daemon_is_safe(void **state)
{
	const uint64_t d = 5000000;

	assert_true(NETP_REFRESH_MS * 3 <= NETP_LIFETIME_S * 1000);
	for (uint64_t T = 3000; T <= 60000; T += 50) {
		uint64_t lock_gone = d + (2 * T) / 3;
		uint64_t need = (uint64_t)NETP_LIFETIME_S * 1000 + 1000 + 250;
		uint64_t D = need > (2 * T) / 3 ? need - (2 * T) / 3 : 0;

		assert_true(net_primary_linger_until_ms(d) < lock_gone + D);
		if (T >= 3400)
			assert_int_equal(D, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_lease_and_tick),
		cmocka_unit_test(test_cut_off_primary_is_safe),
		cmocka_unit_test(test_killed_daemon_is_safe),
	};
	return cmocka_run_group_tests_name("net_primary", tests, NULL, NULL);
}
