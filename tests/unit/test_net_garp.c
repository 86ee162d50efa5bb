/*
 * test_net_garp.c: the announcement frames of workers/net/garp.c, byte by byte.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net_garp.h"

static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

static void test_arp(void **state)
{
	uint8_t f[64], ip[4] = {10, 200, 0, 254};

	assert_int_equal(net_garp_build_arp(f, sizeof(f), mac, ip), GARP_ARP_LEN);
	assert_int_equal(f[0] << 8 | f[1], 1);      /* Ethernet */
	assert_int_equal(f[2] << 8 | f[3], 0x0800); /* IPv4 */
	assert_int_equal(f[4], 6);
	assert_int_equal(f[5], 4);
	assert_int_equal(f[6] << 8 | f[7], 1); /* request: gratuitous when sender == target */
	assert_memory_equal(f + 8, mac, 6);
	assert_memory_equal(f + 14, ip, 4);
	assert_memory_equal(f + 24, ip, 4);
	assert_int_equal(net_garp_build_arp(f, GARP_ARP_LEN - 1, mac, ip), 0);
}

static void test_na(void **state)
{
	uint8_t f[128], ip6[16], all[16];

	assert_int_equal(inet_pton(AF_INET6, "fd00:107::1", ip6), 1);
	assert_int_equal(inet_pton(AF_INET6, "ff02::1", all), 1);
	assert_int_equal(net_garp_build_na(f, sizeof(f), mac, ip6), GARP_NA_LEN);
	assert_int_equal(f[0] >> 4, 6);
	assert_int_equal(f[4] << 8 | f[5], GARP_NA_LEN - 40); /* payload length */
	assert_int_equal(f[6], 58);
	assert_int_equal(f[7], 255);
	assert_memory_equal(f + 8, ip6, 16);
	assert_memory_equal(f + 24, all, 16);
	assert_int_equal(f[40], 136);
	assert_int_equal(f[44] & 0x40, 0);    /* not solicited */
	assert_int_equal(f[44] & 0x20, 0x20); /* override */
	assert_memory_equal(f + 48, ip6, 16);
	assert_int_equal(f[64], 2);
	assert_int_equal(f[65], 1);
	assert_memory_equal(f + 66, mac, 6);
	/* a correct checksum makes the sum over the message (checksum included) 0 */
	assert_int_equal(net_garp_icmp6_csum(ip6, all, f + 40, GARP_NA_LEN - 40), 0);
	f[60] ^= 1;
	assert_int_not_equal(net_garp_icmp6_csum(ip6, all, f + 40, GARP_NA_LEN - 40), 0);
	assert_int_equal(net_garp_build_na(f, GARP_NA_LEN - 1, mac, ip6), 0);
}

static void test_csum_known(void **state)
{
	/* RFC 1071 style check on a hand-computed case: all-zero addresses, 2-byte
	 * message 0x0001: sum = len(2) + 58 + 1 = 61 -> ~61 */
	uint8_t z[16] = {0}, m[2] = {0, 1};

	assert_int_equal(net_garp_icmp6_csum(z, z, m, 2), (uint16_t)~61u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_na),
		cmocka_unit_test(test_csum_known),
	};
	return cmocka_run_group_tests_name("net_garp", tests, NULL, NULL);
}
