/*
 * test_dns_axfr.c: the dns-aggregator's AXFR parser (workers/dns/axfr.c) on crafted
 * messages shaped as dnsmasq sends them (the zone's SOA, its records, the closing
 * SOA; names compressed against the question), and on hostile ones: pointer loops,
 * forward pointers, truncated data, names outside the zone or with characters a
 * PowerDNS content must not hold, refusals and foreign ids. Also the query builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns_axfr.h"

#define ZONE "net.test"
#define ID 0x1234

struct pkt {
	uint8_t b[2048];
	size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}
static void put8(struct pkt *p, uint8_t v) { put(p, &v, 1); }
static void put16(struct pkt *p, uint16_t v) { put8(p, (uint8_t)(v >> 8)); put8(p, (uint8_t)v); }
static void put32(struct pkt *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p, (uint16_t)v); }
static void label(struct pkt *p, const char *s) { put8(p, (uint8_t)strlen(s)); put(p, s, strlen(s)); }
static void ptr(struct pkt *p, uint16_t off) { put16(p, (uint16_t)(0xc000 | off)); }

/* header + question "net.test AXFR IN"; the zone name sits at offset 12 */
static void head(struct pkt *p, uint16_t id, uint16_t flags, uint16_t an)
{
	p->n = 0;
	put16(p, id);
	put16(p, flags);
	put16(p, 1);
	put16(p, an);
	put16(p, 0);
	put16(p, 0);
	label(p, "net");
	label(p, "test");
	put8(p, 0);
	put16(p, DNS_T_AXFR);
	put16(p, 1);
}

static void rr_head(struct pkt *p, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	put16(p, type);
	put16(p, 1);
	put32(p, ttl);
	put16(p, rdlen);
}

static void soa(struct pkt *p, uint32_t serial)
{
	ptr(p, 12);
	/* mname "ns.net.test" (label + pointer), rname pointer: 5 + 2 + 20 */
	rr_head(p, DNS_T_SOA, 600, 5 + 2 + 20);
	label(p, "ns");
	ptr(p, 12);
	ptr(p, 12);
	put32(p, serial);
	put32(p, 1200);
	put32(p, 180);
	put32(p, 1209600);
	put32(p, 600);
}

static void a_rec(struct pkt *p, const char *host, const uint8_t ip[4])
{
	label(p, host);
	ptr(p, 12);
	rr_head(p, DNS_T_A, 600, 4);
	put(p, ip, 4);
}

static int parse(const struct pkt *p, struct dns_zone *z, char *err)
{
	return dns_axfr_parse_msg(p->b, p->n, ID, ZONE, z, err, 256);
}

static void test_whole_transfer(void **state)
{
	struct pkt p;
	struct dns_zone z = {0};
	char err[256];
	const uint8_t ip[4] = {10, 101, 0, 146};
	const uint8_t ip6[16] = {0xfd, 0, 0x10, 0x04, [15] = 1};

	(void)state;
	head(&p, ID, 0x8400, 5);
	soa(&p, 7);
	a_rec(&p, "dnsvm", ip);
	label(&p, "txt");
	ptr(&p, 12);
	rr_head(&p, DNS_T_TXT, 60, 6);
	label(&p, "hello");
	label(&p, "v6");
	ptr(&p, 12);
	rr_head(&p, DNS_T_AAAA, 60, 16);
	put(&p, ip6, 16);
	soa(&p, 7);
	assert_int_equal(parse(&p, &z, err), 1);
	assert_int_equal(z.n, 4);
	assert_int_equal(z.serial, 7);
	assert_string_equal(z.rr[0].name, "net.test");
	assert_string_equal(z.rr[0].content, "ns.net.test net.test 7 1200 180 1209600 600");
	assert_string_equal(z.rr[1].name, "dnsvm.net.test");
	assert_int_equal(z.rr[1].type, DNS_T_A);
	assert_int_equal(z.rr[1].ttl, 600);
	assert_string_equal(z.rr[1].content, "10.101.0.146");
	assert_string_equal(z.rr[2].content, "\"hello\"");
	assert_string_equal(z.rr[3].content, "fd00:1004::1");
	dns_axfr_zone_free(&z);
}

static void test_two_messages(void **state)
{
	struct pkt p;
	struct dns_zone z = {0};
	char err[256];
	const uint8_t ip[4] = {10, 0, 0, 1};

	(void)state;
	head(&p, ID, 0x8400, 2);
	soa(&p, 3);
	a_rec(&p, "Mixed", ip);
	assert_int_equal(parse(&p, &z, err), 0);
	head(&p, ID, 0x8400, 1);
	soa(&p, 3);
	assert_int_equal(parse(&p, &z, err), 1);
	assert_int_equal(z.n, 2);
	assert_string_equal(z.rr[1].name, "mixed.net.test"); /* lower-cased */
	dns_axfr_zone_free(&z);
}

static void test_skipped_records(void **state)
{
	struct pkt p;
	struct dns_zone z = {0};
	char err[256];
	const uint8_t ip[4] = {10, 0, 0, 1};

	(void)state;
	head(&p, ID, 0x8400, 5);
	soa(&p, 1);
	/* outside the zone: "evil.org" */
	label(&p, "evil");
	label(&p, "org");
	put8(&p, 0);
	rr_head(&p, DNS_T_A, 60, 4);
	put(&p, ip, 4);
	/* a space in a label: PowerDNS content must not get it */
	a_rec(&p, "a b", ip);
	/* a type we do not store (HINFO) */
	label(&p, "h");
	ptr(&p, 12);
	rr_head(&p, 13, 60, 2);
	put16(&p, 0);
	soa(&p, 1);
	assert_int_equal(parse(&p, &z, err), 1);
	assert_int_equal(z.n, 1);
	assert_int_equal(z.skipped, 3);
	dns_axfr_zone_free(&z);
}

static void expect_error(struct pkt *p, const char *what)
{
	struct dns_zone z = {0};
	char err[256] = "";

	assert_int_equal(parse(p, &z, err), -1);
	assert_non_null(strstr(err, what));
	dns_axfr_zone_free(&z);
}

static void test_hostile(void **state)
{
	struct pkt p;
	const uint8_t ip[4] = {1, 2, 3, 4};

	(void)state;
	/* a pointer to itself, and one forward: both could loop */
	head(&p, ID, 0x8400, 1);
	ptr(&p, (uint16_t)p.n);
	rr_head(&p, DNS_T_SOA, 1, 0);
	expect_error(&p, "owner name");
	head(&p, ID, 0x8400, 1);
	ptr(&p, (uint16_t)(p.n + 2));
	put8(&p, 0);
	rr_head(&p, DNS_T_SOA, 1, 0);
	expect_error(&p, "owner name");
	/* record data running past the end */
	head(&p, ID, 0x8400, 1);
	ptr(&p, 12);
	rr_head(&p, DNS_T_A, 1, 40);
	put(&p, ip, 4);
	expect_error(&p, "runs past");
	/* A with 3 bytes */
	head(&p, ID, 0x8400, 2);
	soa(&p, 1);
	ptr(&p, 12);
	rr_head(&p, DNS_T_A, 1, 3);
	put(&p, ip, 3);
	expect_error(&p, "malformed A");
	/* a SOA of another owner where the closing one belongs: an error, with its text */
	head(&p, ID, 0x8400, 2);
	soa(&p, 1);
	label(&p, "x");
	ptr(&p, 12);
	rr_head(&p, DNS_T_SOA, 600, 5 + 2 + 20);
	label(&p, "ns");
	ptr(&p, 12);
	ptr(&p, 12);
	for (int i = 0; i < 5; i++)
		put32(&p, 1);
	expect_error(&p, "a SOA of x.net.test inside the transfer of zone net.test");
	/* not starting with the SOA */
	head(&p, ID, 0x8400, 1);
	a_rec(&p, "x", ip);
	expect_error(&p, "does not start");
	/* refused, foreign id, no answer bit, short */
	head(&p, ID, 0x8405, 0);
	expect_error(&p, "refused (rcode 5)");
	head(&p, 0x4321, 0x8400, 1);
	expect_error(&p, "not an answer");
	head(&p, ID, 0x0400, 1);
	expect_error(&p, "not an answer");
	p.n = 5;
	expect_error(&p, "shorter than a DNS header");
	/* a label that runs past the message */
	head(&p, ID, 0x8400, 1);
	put8(&p, 60);
	put(&p, "abc", 3);
	expect_error(&p, "owner name");
}

static void test_query(void **state)
{
	uint8_t b[300];
	const uint8_t want[] = {0, 26, 0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'n', 'e', 't',
				4, 't', 'e', 's', 't', 0, 0, 252, 0, 1};

	(void)state;
	assert_int_equal(dns_axfr_query(ZONE, 0xabcd, b, sizeof b), (int)sizeof want);
	assert_memory_equal(b, want, sizeof want);
	assert_int_equal(dns_axfr_query("a..b", 1, b, sizeof b), -1);
	assert_int_equal(dns_axfr_query(ZONE, 1, b, 10), -1);
}

static void test_zone_name(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(dns_axfr_zone_name("Net.Test.", out, sizeof out), 0);
	assert_string_equal(out, "net.test");
	assert_int_equal(dns_axfr_zone_name("net.test..", out, sizeof out), 0);
	assert_string_equal(out, "net.test");
	assert_int_equal(dns_axfr_zone_name("net.test", out, sizeof out), 0);
	assert_string_equal(out, "net.test");
	assert_int_equal(dns_axfr_zone_name(".", out, sizeof out), -1);
	assert_int_equal(dns_axfr_zone_name("", out, sizeof out), -1);
	assert_int_equal(dns_axfr_zone_name("a-rather-long.example.", out, sizeof out), -1);
}

static void test_in_zone(void **state)
{
	(void)state;
	assert_true(dns_axfr_in_zone("net.test", "net.test"));
	assert_true(dns_axfr_in_zone("a.net.test", "net.test"));
	assert_false(dns_axfr_in_zone("anet.test", "net.test"));
	assert_false(dns_axfr_in_zone("test", "net.test"));
	assert_string_equal(dns_axfr_type_name(DNS_T_AAAA), "AAAA");
	assert_null(dns_axfr_type_name(13));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_transfer),
		cmocka_unit_test(test_two_messages),
		cmocka_unit_test(test_skipped_records),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_in_zone),
		cmocka_unit_test(test_zone_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
