/*
 * test_net_netlink.c: rtnetlink message building and parsing (workers/net/nlmsg.c),
 * without a socket: round trips, limits, and hostile answers.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "net_netlink.h"

static _Alignas(4) char buf[2048];

static struct nl_addr v4(const char *a, int prefix, int ifindex)
{
	struct nl_addr x;

	memset(&x, 0, sizeof(x));
	x.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, x.addr), 1);
	x.prefix = prefix;
	x.ifindex = ifindex;
	x.valid_lft = x.pref_lft = 1;
	return x;
}

/* Find attribute `type` at the top level of a message with a fixed header of `fixed` bytes. */
static const struct rtattr *find_attr(const struct nlmsghdr *h, size_t fixed, unsigned short type)
{
	const struct rtattr *rta = (const struct rtattr *)((const char *)NLMSG_DATA(h) + NLMSG_ALIGN(fixed));
	size_t len = h->nlmsg_len - NLMSG_LENGTH(fixed);

	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type)
			return rta;
	return NULL;
}

static void test_addr_roundtrip_v4(void **state)
{
	struct nl_addr a = v4("10.200.0.254", 24, 7), b;
	size_t len = net_nlmsg_build_addr(buf, sizeof(buf), RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, 42, &a);
	const struct nlmsghdr *h = (const void *)buf;
	const struct rtattr *ci;
	struct ifa_cacheinfo c;

	assert_true(len > 0);
	assert_int_equal(h->nlmsg_len, len);
	assert_int_equal(h->nlmsg_type, RTM_NEWADDR);
	assert_int_equal(h->nlmsg_seq, 42);
	assert_true(h->nlmsg_flags & NLM_F_REQUEST);
	assert_true(h->nlmsg_flags & NLM_F_REPLACE);
	ci = find_attr(h, sizeof(struct ifaddrmsg), IFA_CACHEINFO);
	assert_non_null(ci);
	memcpy(&c, RTA_DATA(ci), sizeof(c));
	assert_int_equal(c.ifa_valid, 1);
	assert_int_equal(c.ifa_prefered, 1);
	assert_non_null(find_attr(h, sizeof(struct ifaddrmsg), IFA_LOCAL));
	assert_int_equal(net_nlmsg_parse_addr(buf, len, &b), 0);
	assert_int_equal(b.family, AF_INET);
	assert_int_equal(b.prefix, 24);
	assert_int_equal(b.ifindex, 7);
	assert_memory_equal(b.addr, a.addr, 4);
	assert_int_equal(b.valid_lft, 1);
	assert_int_equal(b.pref_lft, 1);
}

static void test_addr_roundtrip_v6(void **state)
{
	struct nl_addr a, b;
	size_t len;
	char txt[64];

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "fd00:100::1", a.addr), 1);
	a.prefix = 64;
	a.ifindex = 3;
	a.valid_lft = a.pref_lft = 1;
	a.flags = IFA_F_NODAD;
	len = net_nlmsg_build_addr(buf, sizeof(buf), RTM_NEWADDR, NLM_F_CREATE, 1, &a);
	assert_true(len > 0);
	assert_int_equal(net_nlmsg_parse_addr(buf, len, &b), 0);
	assert_memory_equal(b.addr, a.addr, 16);
	assert_int_equal(b.flags & IFA_F_NODAD, IFA_F_NODAD);
	assert_string_equal(net_nlmsg_addr_str(&b, txt, sizeof(txt)), "fd00:100::1/64");
}

static void test_addr_build_rejects(void **state)
{
	struct nl_addr a = v4("10.0.0.1", 33, 1);

	assert_int_equal(net_nlmsg_build_addr(buf, sizeof(buf), RTM_NEWADDR, 0, 1, &a), 0);
	a.prefix = 24;
	a.ifindex = 0;
	assert_int_equal(net_nlmsg_build_addr(buf, sizeof(buf), RTM_NEWADDR, 0, 1, &a), 0);
	a.ifindex = 1;
	a.family = AF_UNIX;
	assert_int_equal(net_nlmsg_build_addr(buf, sizeof(buf), RTM_NEWADDR, 0, 1, &a), 0);
	a.family = AF_INET;
	assert_int_equal(net_nlmsg_build_addr(buf, 20, RTM_NEWADDR, 0, 1, &a), 0);
	assert_int_equal(net_nlmsg_build_addr(buf, sizeof(buf), RTM_NEWLINK, 0, 1, &a), 0);
	/* a delete carries no lifetime */
	size_t len = net_nlmsg_build_addr(buf, sizeof(buf), RTM_DELADDR, 0, 1, &a);
	assert_true(len > 0);
	assert_null(find_attr((const void *)buf, sizeof(struct ifaddrmsg), IFA_CACHEINFO));
}

static size_t make_error(int error, uint32_t seq, const char *ext)
{
	struct nlmsghdr *h = (void *)buf;
	struct nlmsgerr *e;
	size_t len = NLMSG_LENGTH(sizeof(*e));

	memset(buf, 0, sizeof(buf));
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_seq = seq;
	e = NLMSG_DATA(h);
	e->error = error;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr);
	e->msg.nlmsg_seq = seq;
	if (ext) {
		struct rtattr *rta = (struct rtattr *)((char *)buf + NLMSG_ALIGN(len));
		size_t n = strlen(ext) + 1;
		h->nlmsg_flags = NLM_F_ACK_TLVS | NLM_F_CAPPED;
		rta->rta_type = NLMSGERR_ATTR_MSG;
		rta->rta_len = (unsigned short)RTA_LENGTH(n);
		memcpy(RTA_DATA(rta), ext, n);
		len = NLMSG_ALIGN(len) + RTA_ALIGN(rta->rta_len);
	}
	h->nlmsg_len = (uint32_t)len;
	return len;
}

static void test_ack_parse(void **state)
{
	char msg[100];
	int err = -1;
	size_t len;

	len = make_error(0, 9, NULL);
	assert_int_equal(net_nlmsg_parse_ack(buf, len, 9, &err, msg, sizeof(msg)), 1);
	assert_int_equal(err, 0);
	len = make_error(-17, 9, "Address already assigned");
	assert_int_equal(net_nlmsg_parse_ack(buf, len, 9, &err, msg, sizeof(msg)), 1);
	assert_int_equal(err, 17);
	assert_string_equal(msg, "Address already assigned");
	/* another request's answer is not ours */
	assert_int_equal(net_nlmsg_parse_ack(buf, len, 10, &err, msg, sizeof(msg)), 0);
	/* truncated, lying length, impossible errno */
	assert_int_equal(net_nlmsg_parse_ack(buf, 10, 9, &err, msg, sizeof(msg)), -1);
	((struct nlmsghdr *)(void *)buf)->nlmsg_len = 5000;
	assert_int_equal(net_nlmsg_parse_ack(buf, len, 9, &err, msg, sizeof(msg)), -1);
	len = make_error(12345, 9, NULL);
	assert_int_equal(net_nlmsg_parse_ack(buf, len, 9, &err, msg, sizeof(msg)), -1);
}

static void test_parse_addr_hostile(void **state)
{
	struct nl_addr a = v4("192.0.2.1", 24, 2), b;
	size_t len = net_nlmsg_build_addr(buf, sizeof(buf), RTM_NEWADDR, 0, 1, &a);
	struct nlmsghdr *h = (void *)buf;
	struct rtattr *rta;

	assert_int_equal(net_nlmsg_parse_addr(buf, len - 1, &b), -1); /* shorter than nlmsg_len */
	assert_int_equal(net_nlmsg_parse_addr(buf, 8, &b), -1);
	/* an IFA_LOCAL with a 6-byte IPv4 address */
	rta = (struct rtattr *)find_attr(h, sizeof(struct ifaddrmsg), IFA_LOCAL);
	rta->rta_len = RTA_LENGTH(6);
	assert_int_equal(net_nlmsg_parse_addr(buf, len, &b), -1);
	/* prefix beyond the family */
	len = net_nlmsg_build_addr(buf, sizeof(buf), RTM_NEWADDR, 0, 1, &a);
	((struct ifaddrmsg *)NLMSG_DATA(h))->ifa_prefixlen = 40;
	assert_int_equal(net_nlmsg_parse_addr(buf, len, &b), -1);
}

static void test_bridge_and_link(void **state)
{
	const struct nlmsghdr *h = (const void *)buf;
	const struct rtattr *li, *kind;
	struct nl_link l;
	size_t len;

	len = net_nlmsg_build_bridge_new(buf, sizeof(buf), 3, "brcluster");
	assert_true(len > 0);
	assert_true(h->nlmsg_flags & NLM_F_CREATE);
	assert_true(h->nlmsg_flags & NLM_F_EXCL);
	assert_string_equal(RTA_DATA(find_attr(h, sizeof(struct ifinfomsg), IFLA_IFNAME)), "brcluster");
	li = find_attr(h, sizeof(struct ifinfomsg), IFLA_LINKINFO);
	assert_non_null(li);
	kind = RTA_DATA(li);
	assert_int_equal(kind->rta_type, IFLA_INFO_KIND);
	assert_string_equal(RTA_DATA(kind), "bridge");
	assert_int_equal(net_nlmsg_build_bridge_new(buf, sizeof(buf), 3, "a-name-too-long-x"), 0);
	assert_int_equal(net_nlmsg_build_bridge_new(buf, sizeof(buf), 3, ""), 0);

	len = net_nlmsg_build_link_set(buf, sizeof(buf), 4, 5, 1, 9000, 8);
	assert_true(len > 0);
	assert_int_equal(((struct ifinfomsg *)NLMSG_DATA(h))->ifi_flags & IFF_UP, IFF_UP);
	assert_int_equal(*(uint32_t *)RTA_DATA(find_attr(h, sizeof(struct ifinfomsg), IFLA_MTU)), 9000);
	assert_int_equal(*(uint32_t *)RTA_DATA(find_attr(h, sizeof(struct ifinfomsg), IFLA_MASTER)), 8);
	len = net_nlmsg_build_link_set(buf, sizeof(buf), 4, 5, 1, 0, -1);
	assert_null(find_attr(h, sizeof(struct ifinfomsg), IFLA_MTU));
	assert_null(find_attr(h, sizeof(struct ifinfomsg), IFLA_MASTER));

	/* the same message read back as a kernel answer: no MAC, no kind */
	((struct nlmsghdr *)(void *)buf)->nlmsg_type = RTM_NEWLINK;
	assert_int_equal(net_nlmsg_parse_link(buf, len, &l), 0);
	assert_int_equal(l.ifindex, 5);
	assert_int_equal(l.maclen, 0);
	len = net_nlmsg_build_bridge_new(buf, sizeof(buf), 3, "br0");
	((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index = 9;
	assert_int_equal(net_nlmsg_parse_link(buf, len, &l), 0);
	assert_string_equal(l.kind, "bridge");
	assert_string_equal(l.name, "br0");
	((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index = -1;
	assert_int_equal(net_nlmsg_parse_link(buf, len, &l), -1);

	len = net_nlmsg_build_link_get(buf, sizeof(buf), 5, "vmbr100");
	assert_true(len > 0);
	assert_string_equal(RTA_DATA(find_attr(h, sizeof(struct ifinfomsg), IFLA_IFNAME)), "vmbr100");
	assert_int_equal(*(uint32_t *)RTA_DATA(find_attr(h, sizeof(struct ifinfomsg), IFLA_EXT_MASK)),
			 RTEXT_FILTER_SKIP_STATS);
	len = net_nlmsg_build_link_get_index(buf, sizeof(buf), 5, 12);
	assert_true(len > 0);
	assert_int_equal(h->nlmsg_type, RTM_GETLINK);
	assert_int_equal(((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index, 12);
	assert_int_equal(net_nlmsg_build_link_get_index(buf, sizeof(buf), 5, 0), 0);
}

static void test_route_default(void **state)
{
	uint8_t gw[4] = {10, 0, 0, 1};
	const struct nlmsghdr *h = (const void *)buf;
	size_t len = net_nlmsg_build_route_default(buf, sizeof(buf), 1, AF_INET, gw, 4);
	const struct rtmsg *rt = NLMSG_DATA(h);

	assert_true(len > 0);
	assert_int_equal(h->nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(rt->rtm_dst_len, 0);
	assert_memory_equal(RTA_DATA(find_attr(h, sizeof(*rt), RTA_GATEWAY)), gw, 4);
	assert_int_equal(*(uint32_t *)RTA_DATA(find_attr(h, sizeof(*rt), RTA_OIF)), 4);
	assert_int_equal(net_nlmsg_build_route_default(buf, sizeof(buf), 1, AF_INET, gw, 0), 0);
}

/* Hostile kernel answers (or a bug): random bytes, and valid messages with random
 * corruption, must be rejected or parsed within bounds, never crash (run under
 * ASan in `make asan-build`). Deterministic generator: failures reproduce. */
static void test_random_input(void **state)
{
	static _Alignas(4) unsigned char rb[512];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct nl_addr a, base = v4("10.1.2.3", 16, 4);
	struct nl_link l;
	char msg[64];
	int err;

	for (int it = 0; it < 200000; it++) {
		size_t len, i, off = 0;
		int bad = 0;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (it & 1) {
			len = net_nlmsg_build_addr(rb, sizeof(rb), RTM_NEWADDR, 0, 1, &base);
			rb[(x >> 8) % len] ^= (unsigned char)(x >> 20);
			rb[(x >> 32) % len] ^= (unsigned char)(x >> 40);
		} else {
			len = (size_t)(x % sizeof(rb));
			for (i = 0; i < len; i++)
				rb[i] = (unsigned char)(x >> ((i % 8) * 8)) ^ (unsigned char)i;
		}
		(void)net_nlmsg_parse_ack(rb, len, 1, &err, msg, sizeof(msg));
		(void)net_nlmsg_parse_addr(rb, len, &a);
		(void)net_nlmsg_parse_link(rb, len, &l);
		while (net_nlmsg_next(rb, len, &off, &bad) != NULL)
			;
		assert_true(off <= len + 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_roundtrip_v4),
		cmocka_unit_test(test_addr_roundtrip_v6),
		cmocka_unit_test(test_addr_build_rejects),
		cmocka_unit_test(test_ack_parse),
		cmocka_unit_test(test_parse_addr_hostile),
		cmocka_unit_test(test_bridge_and_link),
		cmocka_unit_test(test_route_default),
		cmocka_unit_test(test_random_input),
	};
	return cmocka_run_group_tests_name("net_netlink", tests, NULL, NULL);
}
