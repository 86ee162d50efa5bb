/*
 * test_net_clients.c: the pure parts of net-router's client networks (issue #9):
 * which interface names are ours, MTUs, dnsmasq's argument vector (ref §7.6 order,
 * values with spaces stay one argument), reservation lines, the nftables
 * transaction text (ref §7.7 with numeric ACL order), and the rtnetlink messages
 * that create/parse vxlan, vlan and bridge links.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "net_client.h"
#include "net_dnsmasq.h"
#include "net_nft.h"

static void addr(struct netdef_addr *a, int family, const char *txt, int prefix)
{
	memset(a, 0, sizeof(*a));
	a->set = 1;
	a->family = family;
	assert_int_equal(inet_pton(family, txt, a->addr), 1);
	a->prefix = prefix;
	if (prefix >= 0)
		snprintf(a->text, sizeof(a->text), "%s/%d", txt, prefix);
	else
		snprintf(a->text, sizeof(a->text), "%s", txt);
}

static void managed(struct netdef *d)
{
	netdef_init(d, 1001);
	d->managed = 1;
	snprintf(d->desc, sizeof(d->desc), "client net");
	snprintf(d->domain, sizeof(d->domain), "net1001.test");
	addr(&d->net4, AF_INET, "10.101.0.0", 24);
	addr(&d->gw4, AF_INET, "10.101.0.1", -1);
	addr(&d->dhcp4_start, AF_INET, "10.101.0.100", -1);
	addr(&d->dhcp4_end, AF_INET, "10.101.0.199", -1);
	d->dhcp4 = 1;
}

static void test_names(void **state)
{
	uint32_t v = 0;

	assert_true(net_client_our_name("vmbr1001", &v));
	assert_int_equal(v, 1001);
	assert_true(net_client_our_name("vxlan16777215", &v));
	assert_int_equal(v, 16777215);
	assert_true(net_client_our_name("vlan7", &v));
	assert_int_equal(v, 7);
	/* not ours: other names, suffixes, out of range, empty digits */
	assert_false(net_client_our_name("vmbr", &v));
	assert_false(net_client_our_name("vmbr10a", &v));
	assert_false(net_client_our_name("vmbr16777216", &v));
	assert_false(net_client_our_name("vxlan99999999999999999999", &v));
	assert_false(net_client_our_name("brcluster", &v));
	assert_false(net_client_our_name("ens4", &v));
	assert_false(net_client_our_name("xvmbr1", &v));
	assert_false(net_client_our_name("vlan-1", &v));
}

static void test_mtu(void **state)
{
	struct pvc_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.if_cluster.mtu = 9000;
	assert_int_equal(net_client_mtu(&cfg, 1), 8950);
	assert_int_equal(net_client_mtu(&cfg, 0), 9000);
	cfg.if_cluster.mtu = 0; /* unset: Ethernet */
	assert_int_equal(net_client_mtu(&cfg, 1), 1450);
}

static int find_arg(char **argv, int n, const char *a)
{
	for (int i = 0; i < n; i++)
		if (strcmp(argv[i], a) == 0)
			return i;
	return -1;
}

static void test_argv_v4(void **state)
{
	struct netdef d;
	char *argv[DNSM_MAX_ARGS], store[8192];
	int n;

	managed(&d);
	n = net_dnsmasq_args_build(&d, "/usr/lib/pvc/pvc-dhcp-lease", "/run/pvc/dnsmasq/1001", argv,
				   DNSM_MAX_ARGS, store, sizeof(store));
	assert_true(n > 20);
	assert_null(argv[n]);
	assert_string_equal(argv[0], "/usr/sbin/dnsmasq");
	assert_string_equal(argv[1], "--domain-needed");
	assert_string_equal(argv[8], "--domain=net1001.test");
	assert_string_equal(argv[9], "--local=/net1001.test/");
	assert_true(find_arg(argv, n, "--dhcp-script=/usr/lib/pvc/pvc-dhcp-lease") > 0);
	assert_true(find_arg(argv, n, "--dhcp-hostsdir=/run/pvc/dnsmasq/1001") > 0);
	assert_true(find_arg(argv, n, "--interface=vmbr1001") > 0);
	assert_true(find_arg(argv, n, "--except-interface=lo") > 0);
	assert_true(find_arg(argv, n, "--pid-file=") > 0);
	assert_true(find_arg(argv, n, "--listen-address=10.101.0.1") > 0);
	assert_true(find_arg(argv, n, "--auth-zone=net1001.test") > 0);
	/* v4 DHCP last, in this order */
	assert_string_equal(argv[n - 2], "--dhcp-option=option:ntp-server,10.101.0.1");
	assert_string_equal(argv[n - 1], "--dhcp-range=10.101.0.100,10.101.0.199,48h");
	assert_int_equal(find_arg(argv, n, "--enable-ra"), -1);
	/* base before the v4 group */
	assert_true(find_arg(argv, n, "--bind-interfaces") < find_arg(argv, n, "--listen-address=10.101.0.1"));
}

static void test_argv_v6_and_empty_domain(void **state)
{
	struct netdef d;
	char *argv[DNSM_MAX_ARGS], store[8192];
	int n;

	managed(&d);
	d.domain[0] = '\0';
	addr(&d.net6, AF_INET6, "fd00:1001::", 64);
	addr(&d.gw6, AF_INET6, "fd00:1001::1", -1);
	d.dhcp6 = 1;
	n = net_dnsmasq_args_build(&d, "/h", "/d", argv, DNSM_MAX_ARGS, store, sizeof(store));
	assert_true(n > 0);
	assert_int_equal(find_arg(argv, n, "--local=//"), -1);
	assert_int_equal(find_arg(argv, n, "--domain="), -1);
	assert_true(find_arg(argv, n, "--listen-address=fd00:1001::1") > 0);
	assert_true(find_arg(argv, n, "--dhcp-option=option6:dns-server,[fd00:1001::1]") > 0);
	assert_true(find_arg(argv, n, "--enable-ra") > 0);
	assert_true(find_arg(argv, n, "--dhcp-range=net:vmbr1001,::,constructor:vmbr1001,ra-stateless,ra-names") > 0);
	/* dual stack: the v4 DNS group is the reference's "else" branch */
	assert_int_equal(find_arg(argv, n, "--listen-address=10.101.0.1"), -1);
	assert_string_equal(argv[n - 1], "--dhcp-range=10.101.0.100,10.101.0.199,48h");
	/* v6 only */
	d.dhcp4 = 0;
	n = net_dnsmasq_args_build(&d, "/h", "/d", argv, DNSM_MAX_ARGS, store, sizeof(store));
	assert_string_equal(argv[n - 1],
			    "--dhcp-range=net:vmbr1001,::2,::ffff:ffff:ffff:ffff,constructor:vmbr1001,64,24h");
}

static void test_argv_spaces_and_overflow(void **state)
{
	struct netdef d;
	char *argv[DNSM_MAX_ARGS], store[8192], small[64];
	int n;

	managed(&d);
	/* the reference re-split a joined string: a path with a space broke it */
	n = net_dnsmasq_args_build(&d, "/opt/my pvc/pvc-dhcp-lease", "/d", argv, DNSM_MAX_ARGS, store,
				   sizeof(store));
	assert_true(find_arg(argv, n, "--dhcp-script=/opt/my pvc/pvc-dhcp-lease") > 0);
	assert_int_equal(net_dnsmasq_args_build(&d, "/h", "/d", argv, DNSM_MAX_ARGS, small, sizeof(small)), -1);
	assert_int_equal(net_dnsmasq_args_build(&d, "/h", "/d", argv, 5, store, sizeof(store)), -1);
}

static void test_host_line(void **state)
{
	struct netdef_res r;
	char buf[160];

	memset(&r, 0, sizeof(r));
	snprintf(r.mac, sizeof(r.mac), "52:54:00:10:01:01");
	addr(&r.ip, AF_INET, "10.101.0.50", -1);
	net_dnsmasq_args_host_line(&r, buf, sizeof(buf));
	assert_string_equal(buf, "52:54:00:10:01:01,10.101.0.50");
	snprintf(r.hostname, sizeof(r.hostname), "vmhost");
	net_dnsmasq_args_host_line(&r, buf, sizeof(buf));
	assert_string_equal(buf, "52:54:00:10:01:01,10.101.0.50,vmhost");
}

static void test_nft_render(void **state)
{
	static char buf[65536];
	struct netdef d;
	struct netdef_acl in[2];
	struct nftn_applied prev;
	int n;

	managed(&d);
	memset(in, 0, sizeof(in));
	/* already sorted numerically by netdef (2 before 10) */
	in[0].order = 2;
	snprintf(in[0].rule, sizeof(in[0].rule), "tcp dport 22 accept");
	in[1].order = 10;
	snprintf(in[1].rule, sizeof(in[1].rule), "ip saddr 10.0.0.1 drop");
	d.acl_in = in;
	d.nacl_in = 2;
	n = net_nft_render(&d, NULL, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "add chain inet pvc vxlan1001-in\nflush chain inet pvc vxlan1001-in\n"));
	assert_non_null(strstr(buf, "add rule inet pvc vmbr1001-input udp dport 67 counter accept\n"));
	assert_non_null(strstr(buf, "add rule inet pvc vmbr1001-input counter drop\n"));
	assert_non_null(strstr(buf, "add rule inet pvc vmbr1001-to ip daddr 10.101.0.0/24 counter jump vxlan1001-in\n"));
	assert_non_null(strstr(buf, "add rule inet pvc vmbr1001-from ip saddr 10.101.0.0/24 counter jump vxlan1001-out\n"));
	assert_non_null(strstr(buf, "add element inet pvc fwd_to { \"vmbr1001\" : jump vmbr1001-to }"));
	assert_non_null(strstr(buf, "add element inet pvc fwd_from { \"vmbr1001\" : jump vmbr1001-from }"));
	assert_non_null(strstr(buf, "add element inet pvc in_if { \"vmbr1001\" : jump vmbr1001-input }"));
	assert_null(strstr(buf, "ip6 daddr"));
	assert_null(strstr(buf, "delete element"));
	assert_true(strstr(buf, "counter tcp dport 22 accept") < strstr(buf, "counter ip saddr 10.0.0.1 drop"));
	/* the counter rule comes before the ACLs */
	assert_true(strstr(buf, "add rule inet pvc vxlan1001-in counter\n") < strstr(buf, "tcp dport 22"));
	/* a previous application: its elements are swapped in the same transaction */
	memset(&prev, 0, sizeof(prev));
	prev.vni = 1001;
	n = net_nft_render(&d, &prev, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "delete element inet pvc fwd_to { \"vmbr1001\" }"));
	assert_non_null(strstr(buf, "delete element inet pvc in_if { \"vmbr1001\" }"));
	assert_true(strstr(buf, "delete element inet pvc in_if") < strstr(buf, "add element inet pvc in_if"));
	/* host bits of a network are cleared (not that netdef lets them through) */
	d.net4.addr[3] = 77;
	n = net_nft_render(&d, NULL, buf, sizeof(buf));
	assert_non_null(strstr(buf, "ip daddr 10.101.0.0/24 counter"));
	/* no gateway: no forward jumps (ref §7.7 steps 3-4) */
	d.gw4.set = 0;
	n = net_nft_render(&d, NULL, buf, sizeof(buf));
	assert_null(strstr(buf, "jump vxlan1001-in\n"));
	assert_int_equal(net_nft_render(&d, NULL, buf, 100), -1);
}

static const struct rtattr *find_attr(const void *p, size_t len, int type)
{
	const struct rtattr *a = p;

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == type)
			return a;
	return NULL;
}

static void test_link_new(void **state)
{
	_Alignas(struct nlmsghdr) char buf[1024];
	struct nl_newlink nl = {.name = "vxlan1001", .kind = "vxlan", .link = 3, .id = 1001,
				.port = 4789, .mtu = 1450};
	const struct nlmsghdr *h = (const void *)buf;
	const struct ifinfomsg *ifi;
	const struct rtattr *li, *data, *a;
	size_t len = net_nlmsg_build_link_new(buf, sizeof(buf), 7, &nl);
	uint16_t port;
	uint32_t id;

	assert_true(len > 0);
	assert_int_equal(h->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(h->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
	ifi = NLMSG_DATA(h);
	li = find_attr(IFLA_RTA(ifi), h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)), IFLA_LINKINFO);
	assert_non_null(li);
	a = find_attr(RTA_DATA(li), RTA_PAYLOAD(li), IFLA_INFO_KIND);
	assert_string_equal((const char *)RTA_DATA(a), "vxlan");
	data = find_attr(RTA_DATA(li), RTA_PAYLOAD(li), IFLA_INFO_DATA);
	assert_non_null(data);
	a = find_attr(RTA_DATA(data), RTA_PAYLOAD(data), IFLA_VXLAN_ID);
	memcpy(&id, RTA_DATA(a), 4);
	assert_int_equal(id, 1001);
	a = find_attr(RTA_DATA(data), RTA_PAYLOAD(data), IFLA_VXLAN_PORT);
	memcpy(&port, RTA_DATA(a), 2);
	assert_int_equal(ntohs(port), 4789);
	assert_non_null(find_attr(RTA_DATA(data), RTA_PAYLOAD(data), IFLA_VXLAN_LEARNING));
	assert_non_null(find_attr(RTA_DATA(data), RTA_PAYLOAD(data), IFLA_VXLAN_LINK));
	/* refused: bad VLAN ids, VLAN without lower device, unknown kind, long name */
	nl.kind = "vlan";
	nl.id = 4095;
	assert_int_equal(net_nlmsg_build_link_new(buf, sizeof(buf), 7, &nl), 0);
	nl.id = 100;
	nl.link = 0;
	assert_int_equal(net_nlmsg_build_link_new(buf, sizeof(buf), 7, &nl), 0);
	nl.link = 3;
	assert_true(net_nlmsg_build_link_new(buf, sizeof(buf), 7, &nl) > 0);
	nl.kind = "macvlan";
	assert_int_equal(net_nlmsg_build_link_new(buf, sizeof(buf), 7, &nl), 0);
	nl.kind = "bridge";
	nl.name = "averyveryverylongname";
	assert_int_equal(net_nlmsg_build_link_new(buf, sizeof(buf), 7, &nl), 0);
	nl.kind = "vxlan";
	nl.name = "vxlan1";
	nl.id = 16777216;
	assert_int_equal(net_nlmsg_build_link_new(buf, sizeof(buf), 7, &nl), 0);
	assert_true(net_nlmsg_build_link_del(buf, sizeof(buf), 1, 5) > 0);
	assert_int_equal(net_nlmsg_build_link_del(buf, sizeof(buf), 1, 0), 0);
	assert_true(net_nlmsg_build_link_dump(buf, sizeof(buf), 1) > 0);
}

/* A kernel-style RTM_NEWLINK answer for a vxlan: parsed back with its id. */
static void test_link_parse_info(void **state)
{
	_Alignas(struct nlmsghdr) char buf[1024];
	struct nl_newlink nl = {.name = "vxlan77", .kind = "vxlan", .link = 4, .id = 77,
				.port = 4789, .mtu = 1450};
	struct nlmsghdr *h = (void *)buf;
	struct ifinfomsg *ifi;
	struct nl_link l;
	size_t len = net_nlmsg_build_link_new(buf, sizeof(buf), 7, &nl);

	assert_true(len > 0);
	ifi = NLMSG_DATA(h);
	ifi->ifi_index = 9; /* as the kernel would answer */
	assert_int_equal(net_nlmsg_parse_link(buf, len, &l), 0);
	assert_string_equal(l.name, "vxlan77");
	assert_string_equal(l.kind, "vxlan");
	assert_int_equal(l.has_id, 1);
	assert_int_equal(l.id, 77);
	assert_int_equal(l.link, 4);
	assert_int_equal(l.mtu, 1450);
	/* truncated: refused, never read past the end */
	h->nlmsg_len = (uint32_t)len + 8;
	assert_int_equal(net_nlmsg_parse_link(buf, len, &l), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_argv_v4),
		cmocka_unit_test(test_argv_v6_and_empty_domain),
		cmocka_unit_test(test_argv_spaces_and_overflow),
		cmocka_unit_test(test_host_line),
		cmocka_unit_test(test_nft_render),
		cmocka_unit_test(test_link_new),
		cmocka_unit_test(test_link_parse_info),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
