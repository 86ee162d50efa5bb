/*
 * test_netdef.c: client network definitions (workers/netdef.c): key parsing,
 * whole-definition validation, the MSG_NET_NETWORKS codec and its robustness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netdef.h"

static char err[256];

static int set(struct netdef *d, const char *k, const char *v)
{
	return netdef_set_key(d, k, v, err, sizeof(err));
}

/* a valid managed network with DHCP, as the API writes it */
static void managed(struct netdef *d, uint32_t vni)
{
	netdef_init(d, vni);
	assert_int_equal(set(d, "", "clientnet"), 0);
	assert_int_equal(set(d, "nettype", "managed"), 0);
	assert_int_equal(set(d, "domain", "clientnet.local"), 0);
	assert_int_equal(set(d, "name_servers", "['10.1.1.1', 'ns2.example.com']"), 0);
	assert_int_equal(set(d, "ip4_network", "10.1.1.0/24"), 0);
	assert_int_equal(set(d, "ip4_gateway", "10.1.1.1"), 0);
	assert_int_equal(set(d, "dhcp4_flag", "True"), 0);
	assert_int_equal(set(d, "dhcp4_start", "10.1.1.100"), 0);
	assert_int_equal(set(d, "dhcp4_end", "10.1.1.199"), 0);
	assert_int_equal(set(d, "ip6_network", "2001:DB8:1::/64"), 0);
	assert_int_equal(set(d, "ip6_gateway", "2001:db8:1::1"), 0);
	assert_int_equal(set(d, "dhcp6_flag", "True"), 0);
}

static void test_keys(void **state)
{
	struct netdef d;

	(void)state;
	managed(&d, 100);
	assert_string_equal(d.ns, "10.1.1.1,ns2.example.com");
	assert_string_equal(d.net6.text, "2001:db8:1::/64");
	assert_int_equal(d.net4.prefix, 24);
	assert_int_equal(d.gw4.prefix, -1);
	assert_int_equal(netdef_validate(&d, err, sizeof(err)), 0);

	assert_int_equal(set(&d, "name_servers", "a.example,b.example"), 0);
	assert_string_equal(d.ns, "a.example,b.example");
	assert_int_equal(set(&d, "name_servers", "[]"), 0);
	assert_string_equal(d.ns, "");
	assert_int_equal(set(&d, "name_servers", "[ 'a.example' ,  'b.example' ]"), 0);
	assert_string_equal(d.ns, "a.example,b.example"); /* blanks around entries go */
	assert_int_equal(set(&d, "name_servers", "['bad name']"), -1); /* not "badname" */
	assert_non_null(strstr(err, "blank inside"));
	assert_int_equal(set(&d, "name_servers", "None"), 0);
	assert_string_equal(d.ns, "");
	assert_int_equal(set(&d, "name_servers", "['b@d']"), -1);
	assert_non_null(strstr(err, "name_servers"));

	assert_int_equal(set(&d, "ip4_network", "10.1.1.300/24"), -1);
	assert_non_null(strstr(err, "ip4_network"));
	assert_non_null(strstr(err, "10.1.1.300/24"));
	assert_int_equal(set(&d, "ip4_network", "10.1.1.0/33"), -1);
	assert_int_equal(set(&d, "ip4_network", "10.1.1.5/24"), -1); /* host bits */
	assert_int_equal(set(&d, "ip4_network", "10.1.1.0"), -1);
	assert_int_equal(set(&d, "ip4_network", "10.1.1.0/"), -1);
	assert_int_equal(set(&d, "ip4_network", "10.1.1.0/+8"), -1);
	assert_int_equal(set(&d, "ip4_network", "010.1.1.0/24"), -1);
	assert_int_equal(set(&d, "ip4_gateway", "10.1.1.1/24"), -1);
	assert_int_equal(set(&d, "ip4_gateway", "2001:db8::1"), -1);
	assert_int_equal(set(&d, "ip6_network", "10.0.0.0/8"), -1);
	assert_int_equal(set(&d, "ip6_network", "2001:db8:1::1/64"), -1); /* host bits */
	assert_non_null(strstr(err, "host bits"));
	assert_int_equal(set(&d, "ip6_network", "2001:db8:1:0:8000::/64"), -1);
	assert_int_equal(set(&d, "ip6_network", "2001:db8:1:0:8000::/65"), 0);
	assert_int_equal(set(&d, "ip6_network", "2001:db8:1::/129"), -1);
	assert_int_equal(set(&d, "ip6_network", "2001:db8:1::/64"), 0);
	assert_int_equal(netdef_add_acl(&d, 0, "big", "1000000001", "drop", err, sizeof(err)), -1);
	assert_int_equal(netdef_add_acl(&d, 0, "huge", "99999999999999999999", "drop", err,
					sizeof(err)), -1);
	assert_non_null(strstr(err, "huge"));
	assert_int_equal(set(&d, "nettype", "vxlan"), -1);
	assert_int_equal(set(&d, "dhcp4_flag", "yes"), -1);
	assert_int_equal(set(&d, "domain", "bad domain"), -1);
	assert_int_equal(set(&d, "", "line\nbreak"), -1);
	assert_int_equal(set(&d, "bogus", "x"), -1);
	assert_non_null(strstr(err, "bogus"));

	assert_int_equal(set(&d, "ip6_gateway", "None"), 0);
	assert_false(d.gw6.set);
	netdef_clear(&d);
}

static void expect_invalid(struct netdef *d, const char *what)
{
	assert_int_equal(netdef_validate(d, err, sizeof(err)), -1);
	if (strstr(err, what) == NULL)
		fail_msg("'%s' does not name '%s'", err, what);
	netdef_clear(d);
}

static void test_validate(void **state)
{
	struct netdef d;

	(void)state;
	managed(&d, 0);
	expect_invalid(&d, "vni");
	managed(&d, NETDEF_VNI_MAX + 1);
	expect_invalid(&d, "vni");
	managed(&d, NETDEF_VNI_MAX);
	assert_int_equal(netdef_validate(&d, err, sizeof(err)), 0);
	netdef_clear(&d);

	managed(&d, 5000);
	assert_int_equal(set(&d, "nettype", "bridged"), 0);
	expect_invalid(&d, "VLAN");

	managed(&d, 100);
	assert_int_equal(set(&d, "ip4_gateway", "10.1.2.1"), 0);
	expect_invalid(&d, "ip4_gateway");
	managed(&d, 100);
	assert_int_equal(set(&d, "ip4_gateway", "10.1.1.255"), 0);
	expect_invalid(&d, "ip4_gateway");
	managed(&d, 100);
	assert_int_equal(set(&d, "ip4_network", "None"), 0);
	expect_invalid(&d, "ip4_gateway");
	managed(&d, 100);
	assert_int_equal(set(&d, "ip6_gateway", "2001:db8:2::1"), 0);
	expect_invalid(&d, "ip6_gateway");
	managed(&d, 100);
	assert_int_equal(set(&d, "dhcp4_start", "10.1.1.200"), 0);
	expect_invalid(&d, "dhcp4_end");
	managed(&d, 100);
	assert_int_equal(set(&d, "dhcp4_end", "10.2.1.200"), 0);
	expect_invalid(&d, "dhcp4_end");
	managed(&d, 100);
	assert_int_equal(set(&d, "ip4_gateway", "None"), 0);
	expect_invalid(&d, "dhcp4_flag");

	/* DHCP off: the range is not used, so not checked */
	managed(&d, 100);
	assert_int_equal(set(&d, "dhcp4_flag", "False"), 0);
	assert_int_equal(set(&d, "dhcp4_end", "None"), 0);
	assert_int_equal(netdef_validate(&d, err, sizeof(err)), 0);
	netdef_clear(&d);

	/* a bridged network with no addresses at all */
	netdef_init(&d, 4094);
	assert_int_equal(set(&d, "nettype", "bridged"), 0);
	assert_int_equal(netdef_validate(&d, err, sizeof(err)), 0);
	netdef_clear(&d);
}

static void test_res_acl(void **state)
{
	struct netdef d;

	(void)state;
	managed(&d, 100);
	assert_int_equal(netdef_add_res(&d, "52:54:00:AA:BB:02", "10.1.1.20", "vm2", err,
					sizeof(err)), 0);
	assert_int_equal(netdef_add_res(&d, "52:54:00:aa:bb:01", "10.1.1.10", "", err,
					sizeof(err)), 0);
	assert_int_equal(netdef_add_res(&d, "52:54:00:aa:bb", "10.1.1.10", "", err,
					sizeof(err)), -1);
	assert_int_equal(netdef_add_res(&d, "52:54:00:aa:bb:03", "10.1.1.300", "", err,
					sizeof(err)), -1);
	assert_int_equal(netdef_add_res(&d, "52:54:00:aa:bb:03", "10.1.1.3", "a,b",
					err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hostname"));
	/* dnsmasq accepts '_': such a reservation must not invalidate the network */
	assert_int_equal(netdef_add_res(&d, "52:54:00:aa:bb:04", "10.1.1.4", "my_vm", err,
					sizeof(err)), 0);
	assert_int_equal(netdef_add_acl(&d, 0, "web", "10", "tcp dport 80 accept", err,
					sizeof(err)), 0);
	assert_int_equal(netdef_add_acl(&d, 0, "ssh", "2", "tcp dport 22 accept", err,
					sizeof(err)), 0);
	assert_int_equal(netdef_add_acl(&d, 0, "drop", "100", "drop", err, sizeof(err)), 0);
	assert_int_equal(netdef_add_acl(&d, 1, "x", "-1", "drop", err, sizeof(err)), -1);
	assert_int_equal(netdef_add_acl(&d, 1, "x", "1", "drop; flush ruleset", err,
					sizeof(err)), -1);
	assert_int_equal(netdef_add_acl(&d, 1, "x", "1", "", err, sizeof(err)), -1);
	assert_int_equal(netdef_validate(&d, err, sizeof(err)), 0);
	/* numeric order, not string order (ref §7.7 bug) */
	assert_string_equal(d.acl_in[0].desc, "ssh");
	assert_string_equal(d.acl_in[1].desc, "web");
	assert_string_equal(d.acl_in[2].desc, "drop");
	assert_string_equal(d.res[0].mac, "52:54:00:aa:bb:01");
	assert_string_equal(d.res[1].mac, "52:54:00:aa:bb:02");

	assert_int_equal(netdef_add_res(&d, "52:54:00:aa:bb:09", "10.1.2.9", "", err,
					sizeof(err)), 0);
	expect_invalid(&d, "dhcp4_reservations");
}

struct skips {
	int n;
	uint32_t vni[8];
	char why[8][256];
};

static void on_skip(uint32_t vni, const char *why, void *arg)
{
	struct skips *s = arg;

	if (s->n < 8) {
		s->vni[s->n] = vni;
		(void)snprintf(s->why[s->n], sizeof(s->why[0]), "%s", why);
	}
	s->n++;
}

static int decode_buf(struct ipc_strv_buf *b, struct netdef **out, size_t *n, struct skips *sk)
{
	struct ipc_strv sv;
	const char *e;
	size_t len;
	const uint8_t *p = strvb_finish(b, &len);
	int rc;

	assert_non_null(p);
	assert_int_equal(ipc_strv_decode(p, len, &sv, &e), 0);
	rc = netdef_decode(&sv, out, n, on_skip, sk);
	ipc_strv_free(&sv);
	strvb_free(b);
	return rc;
}

static void test_roundtrip(void **state)
{
	struct netdef d, *out;
	struct ipc_strv_buf b;
	struct skips sk = {0};
	size_t n;
	char br[16], ln[16];

	(void)state;
	strvb_init(&b);
	managed(&d, 100);
	assert_int_equal(netdef_add_res(&d, "52:54:00:aa:bb:01", "10.1.1.10", "vm1", err,
					sizeof(err)), 0);
	assert_int_equal(netdef_add_acl(&d, 1, "out rule", "3", "ip daddr 1.1.1.1 drop", err,
					sizeof(err)), 0);
	assert_int_equal(netdef_validate(&d, err, sizeof(err)), 0);
	assert_int_equal(netdef_encode(&d, &b), 0);
	netdef_clear(&d);
	netdef_init(&d, 200);
	assert_int_equal(set(&d, "nettype", "bridged"), 0);
	assert_int_equal(netdef_validate(&d, err, sizeof(err)), 0);
	assert_int_equal(netdef_encode(&d, &b), 0);
	netdef_clear(&d);

	assert_int_equal(decode_buf(&b, &out, &n, &sk), 0);
	assert_int_equal(sk.n, 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].vni, 100);
	assert_true(out[0].managed);
	assert_string_equal(out[0].desc, "clientnet");
	assert_string_equal(out[0].ns, "10.1.1.1,ns2.example.com");
	assert_string_equal(out[0].gw4.text, "10.1.1.1");
	assert_string_equal(out[0].dhcp4_end.text, "10.1.1.199");
	assert_true(out[0].dhcp6);
	assert_int_equal(out[0].nres, 1);
	assert_string_equal(out[0].res[0].hostname, "vm1");
	assert_int_equal(out[0].nacl_out, 1);
	assert_int_equal(out[0].acl_out[0].order, 3);
	assert_string_equal(out[0].acl_out[0].desc, "out rule");
	assert_string_equal(out[0].acl_out[0].rule, "ip daddr 1.1.1.1 drop");
	assert_false(out[1].managed);
	assert_false(out[1].net4.set);
	netdef_ifnames(&out[0], br, ln);
	assert_string_equal(br, "vmbr100");
	assert_string_equal(ln, "vxlan100");
	netdef_ifnames(&out[1], br, ln);
	assert_string_equal(ln, "vlan200");
	netdef_free_all(out, n);
}

static void test_decode_bad(void **state)
{
	struct netdef *out;
	struct ipc_strv_buf b;
	struct skips sk = {0};
	size_t n;

	(void)state;
	/* not records at all */
	strvb_init(&b);
	strvb_add(&b, "type=managed");
	assert_int_equal(decode_buf(&b, &out, &n, &sk), -1);

	/* empty set */
	strvb_init(&b);
	assert_int_equal(decode_buf(&b, &out, &n, &sk), 0);
	assert_int_equal(n, 0);

	strvb_init(&b);
	strvb_add(&b, "vni=99999999"); /* out of range */
	strvb_add(&b, "type=managed");
	strvb_add(&b, "vni=7");         /* gateway outside */
	strvb_add(&b, "type=managed");
	strvb_add(&b, "net4=10.0.0.0/24");
	strvb_add(&b, "gw4=10.0.1.1");
	strvb_add(&b, "vni=8");         /* duplicate key */
	strvb_add(&b, "type=bridged");
	strvb_add(&b, "type=bridged");
	strvb_add(&b, "vni=9");         /* no type */
	strvb_add(&b, "vni=10");        /* unknown key */
	strvb_add(&b, "type=bridged");
	strvb_add(&b, "colour=blue");
	strvb_add(&b, "vni=11");        /* good */
	strvb_add(&b, "type=bridged");
	strvb_add(&b, "desc=spaces are fine");
	strvb_add(&b, "vni=12");        /* bad reservation */
	strvb_add(&b, "type=bridged");
	strvb_add(&b, "res=52:54:00:00:00:01,10.0.0.1");
	strvb_add(&b, "vni=11");        /* duplicate vni */
	strvb_add(&b, "type=bridged");
	assert_int_equal(decode_buf(&b, &out, &n, &sk), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].vni, 11);
	assert_int_equal(sk.n, 7);
	assert_non_null(strstr(sk.why[0], "vni"));
	assert_int_equal(sk.vni[1], 7);
	assert_non_null(strstr(sk.why[1], "ip4_gateway"));
	assert_non_null(strstr(sk.why[2], "twice"));
	assert_non_null(strstr(sk.why[3], "type"));
	assert_non_null(strstr(sk.why[4], "colour"));
	assert_non_null(strstr(sk.why[5], "res"));
	assert_int_equal(sk.vni[6], 11);
	netdef_free_all(out, n);
}

/* 60 networks with reservations and rules: encode + decode stays exact */
static void test_many(void **state)
{
	struct netdef d, *out;
	struct ipc_strv_buf b;
	struct skips sk = {0};
	size_t n;
	char mac[18], ip[16];

	(void)state;
	strvb_init(&b);
	for (uint32_t v = 1000; v < 1060; v++) {
		managed(&d, v);
		for (int r = 0; r < 20; r++) {
			(void)snprintf(mac, sizeof(mac), "52:54:00:00:%02x:%02x", v & 0xff, r);
			(void)snprintf(ip, sizeof(ip), "10.1.1.%d", 10 + r);
			assert_int_equal(netdef_add_res(&d, mac, ip, "h", err, sizeof(err)), 0);
		}
		for (int r = 0; r < 10; r++) {
			char desc[16], ord[8];
			(void)snprintf(desc, sizeof(desc), "r%d", r);
			(void)snprintf(ord, sizeof(ord), "%d", 9 - r);
			assert_int_equal(netdef_add_acl(&d, r & 1, desc, ord, "accept", err,
							sizeof(err)), 0);
		}
		assert_int_equal(netdef_validate(&d, err, sizeof(err)), 0);
		assert_int_equal(netdef_encode(&d, &b), 0);
		netdef_clear(&d);
	}
	assert_int_equal(decode_buf(&b, &out, &n, &sk), 0);
	assert_int_equal(sk.n, 0);
	assert_int_equal(n, 60);
	assert_int_equal(out[59].vni, 1059);
	assert_int_equal(out[59].nres, 20);
	assert_int_equal(out[59].nacl_in + out[59].nacl_out, 10);
	assert_int_equal(out[59].acl_out[0].order, 0);
	netdef_free_all(out, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),	   cmocka_unit_test(test_validate),
		cmocka_unit_test(test_res_acl),	   cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_bad), cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
