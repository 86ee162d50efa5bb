/*
 * nlmsg.c: rtnetlink messages for net-router, built and parsed without a socket
 * (so that tests/unit/test_net_netlink.c covers them). Everything parsed is
 * untrusted: every length is checked against the buffer before use.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "net_netlink.h"

/* ---- building ---------------------------------------------------------------- */

static struct nlmsghdr *msg_init(void *buf, size_t cap, uint16_t type, uint16_t flags,
				 uint32_t seq, size_t fixed)
{
	struct nlmsghdr *h = buf;
	size_t need = NLMSG_LENGTH(fixed);

	if (cap < need)
		return NULL;
	memset(buf, 0, need);
	h->nlmsg_len = (uint32_t)need;
	h->nlmsg_type = type;
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	h->nlmsg_seq = seq;
	return h;
}

static void *msg_fixed(struct nlmsghdr *h)
{
	return NLMSG_DATA(h);
}

static int put_attr(struct nlmsghdr *h, size_t cap, uint16_t type, const void *data,
		    size_t dlen)
{
	size_t off = NLMSG_ALIGN(h->nlmsg_len);
	size_t alen = RTA_LENGTH(dlen);
	struct rtattr *rta;

	if (alen > 0xffff || off + RTA_ALIGN(alen) > cap)
		return -1;
	rta = (struct rtattr *)((char *)h + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)alen;
	if (dlen)
		memcpy(RTA_DATA(rta), data, dlen);
	memset((char *)rta + alen, 0, RTA_ALIGN(alen) - alen);
	h->nlmsg_len = (uint32_t)(off + RTA_ALIGN(alen));
	return 0;
}

static struct rtattr *nest_start(struct nlmsghdr *h, size_t cap, uint16_t type)
{
	struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	if (put_attr(h, cap, type, NULL, 0) != 0)
		return NULL;
	return rta;
}

static void nest_end(struct nlmsghdr *h, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)h + h->nlmsg_len - (char *)nest);
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

size_t net_nlmsg_build_addr(void *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq,
			    const struct nl_addr *a)
{
	struct nlmsghdr *h;
	struct ifaddrmsg *ifa;
	size_t alen = addr_len(a->family);
	int maxpfx = (int)alen * 8;

	if (alen == 0 || a->prefix < 0 || a->prefix > maxpfx || a->ifindex <= 0)
		return 0;
	if (type != RTM_NEWADDR && type != RTM_DELADDR)
		return 0;
	h = msg_init(buf, cap, type, flags, seq, sizeof(*ifa));
	if (!h)
		return 0;
	ifa = msg_fixed(h);
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = (uint8_t)a->prefix;
	ifa->ifa_index = (uint32_t)a->ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	/* IFA_LOCAL is what IPv4 matches on; IFA_ADDRESS must agree or the kernel
	 * would treat the address as the peer of a point-to-point link. */
	if (put_attr(h, cap, IFA_LOCAL, a->addr, alen) != 0 ||
	    put_attr(h, cap, IFA_ADDRESS, a->addr, alen) != 0)
		return 0;
	if (type == RTM_NEWADDR) {
		struct ifa_cacheinfo ci = {
			.ifa_prefered = a->pref_lft,
			.ifa_valid = a->valid_lft,
		};
		uint32_t fl = a->flags;

		ifa->ifa_flags = (uint8_t)(fl & 0xff);
		if (put_attr(h, cap, IFA_CACHEINFO, &ci, sizeof(ci)) != 0 ||
		    put_attr(h, cap, IFA_FLAGS, &fl, sizeof(fl)) != 0)
			return 0;
	}
	return h->nlmsg_len;
}

size_t net_nlmsg_build_link_set(void *buf, size_t cap, uint32_t seq, int ifindex, int up, int mtu,
				int master)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return 0;
	h = msg_init(buf, cap, RTM_NEWLINK, 0, seq, sizeof(*ifi));
	if (!h)
		return 0;
	ifi = msg_fixed(h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (up) {
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	if (mtu > 0) {
		uint32_t m = (uint32_t)mtu;
		if (put_attr(h, cap, IFLA_MTU, &m, sizeof(m)) != 0)
			return 0;
	}
	if (master >= 0) {
		uint32_t m = (uint32_t)master;
		if (put_attr(h, cap, IFLA_MASTER, &m, sizeof(m)) != 0)
			return 0;
	}
	return h->nlmsg_len;
}

size_t net_nlmsg_build_bridge_new(void *buf, size_t cap, uint32_t seq, const char *name)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;
	struct rtattr *li;
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ)
		return 0;
	h = msg_init(buf, cap, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq, sizeof(*ifi));
	if (!h)
		return 0;
	ifi = msg_fixed(h);
	ifi->ifi_family = AF_UNSPEC;
	if (put_attr(h, cap, IFLA_IFNAME, name, n + 1) != 0)
		return 0;
	li = nest_start(h, cap, IFLA_LINKINFO);
	if (!li || put_attr(h, cap, IFLA_INFO_KIND, "bridge", 7) != 0)
		return 0;
	nest_end(h, li);
	return h->nlmsg_len;
}

size_t net_nlmsg_build_link_new(void *buf, size_t cap, uint32_t seq, const struct nl_newlink *nl)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;
	struct rtattr *li, *data;
	size_t n = nl->name ? strlen(nl->name) : 0;
	int vx, vl;

	if (n == 0 || n >= IFNAMSIZ || !nl->kind || nl->mtu < 0)
		return 0;
	vx = strcmp(nl->kind, "vxlan") == 0;
	vl = strcmp(nl->kind, "vlan") == 0;
	if (!vx && !vl && strcmp(nl->kind, "bridge") != 0)
		return 0;
	if ((vx && nl->id > 16777215u) || (vl && (nl->id < 1 || nl->id > 4094 || nl->link <= 0)))
		return 0;
	h = msg_init(buf, cap, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq, sizeof(*ifi));
	if (!h)
		return 0;
	ifi = msg_fixed(h);
	ifi->ifi_family = AF_UNSPEC;
	if (put_attr(h, cap, IFLA_IFNAME, nl->name, n + 1) != 0)
		return 0;
	if (nl->mtu > 0) {
		uint32_t m = (uint32_t)nl->mtu;
		if (put_attr(h, cap, IFLA_MTU, &m, sizeof(m)) != 0)
			return 0;
	}
	if (vl) {
		uint32_t lk = (uint32_t)nl->link;
		if (put_attr(h, cap, IFLA_LINK, &lk, sizeof(lk)) != 0)
			return 0;
	}
	li = nest_start(h, cap, IFLA_LINKINFO);
	if (!li || put_attr(h, cap, IFLA_INFO_KIND, nl->kind, strlen(nl->kind) + 1) != 0)
		return 0;
	if (vx || vl) {
		data = nest_start(h, cap, IFLA_INFO_DATA);
		if (!data)
			return 0;
		if (vx) {
			uint32_t id = nl->id, lk = (uint32_t)nl->link;
			uint16_t port = htons(nl->port);
			uint8_t learning = 1;
			if (put_attr(h, cap, IFLA_VXLAN_ID, &id, sizeof(id)) != 0 ||
			    put_attr(h, cap, IFLA_VXLAN_PORT, &port, sizeof(port)) != 0 ||
			    put_attr(h, cap, IFLA_VXLAN_LEARNING, &learning, 1) != 0)
				return 0;
			if (nl->link > 0 && put_attr(h, cap, IFLA_VXLAN_LINK, &lk, sizeof(lk)) != 0)
				return 0;
		} else {
			uint16_t id = (uint16_t)nl->id;
			if (put_attr(h, cap, IFLA_VLAN_ID, &id, sizeof(id)) != 0)
				return 0;
		}
		nest_end(h, data);
	}
	nest_end(h, li);
	return h->nlmsg_len;
}

size_t net_nlmsg_build_link_del(void *buf, size_t cap, uint32_t seq, int ifindex)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return 0;
	h = msg_init(buf, cap, RTM_DELLINK, 0, seq, sizeof(*ifi));
	if (!h)
		return 0;
	ifi = msg_fixed(h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return h->nlmsg_len;
}

/* Link queries only need name, index, MTU, MAC and kind: without the statistics
 * the kernel's answer shrinks several times. */
static int put_skip_stats(struct nlmsghdr *h, size_t cap)
{
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;

	return put_attr(h, cap, IFLA_EXT_MASK, &mask, sizeof(mask));
}

size_t net_nlmsg_build_link_get(void *buf, size_t cap, uint32_t seq, const char *name)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ)
		return 0;
	h = msg_init(buf, cap, RTM_GETLINK, 0, seq, sizeof(*ifi));
	if (!h)
		return 0;
	ifi = msg_fixed(h);
	ifi->ifi_family = AF_UNSPEC;
	if (put_attr(h, cap, IFLA_IFNAME, name, n + 1) != 0 || put_skip_stats(h, cap) != 0)
		return 0;
	return h->nlmsg_len;
}

size_t net_nlmsg_build_link_dump(void *buf, size_t cap, uint32_t seq)
{
	struct nlmsghdr *h = msg_init(buf, cap, RTM_GETLINK, NLM_F_DUMP, seq,
				      sizeof(struct ifinfomsg));

	if (!h)
		return 0;
	((struct ifinfomsg *)msg_fixed(h))->ifi_family = AF_UNSPEC;
	if (put_skip_stats(h, cap) != 0)
		return 0;
	return h->nlmsg_len;
}

size_t net_nlmsg_build_link_get_index(void *buf, size_t cap, uint32_t seq, int ifindex)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return 0;
	h = msg_init(buf, cap, RTM_GETLINK, 0, seq, sizeof(*ifi));
	if (!h)
		return 0;
	ifi = msg_fixed(h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (put_skip_stats(h, cap) != 0)
		return 0;
	return h->nlmsg_len;
}

size_t net_nlmsg_build_route_default(void *buf, size_t cap, uint32_t seq, int family,
				     const uint8_t *gw, int ifindex)
{
	struct nlmsghdr *h;
	struct rtmsg *rt;
	size_t alen = addr_len(family);
	uint32_t oif = (uint32_t)ifindex;

	if (alen == 0 || ifindex <= 0)
		return 0;
	h = msg_init(buf, cap, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, seq, sizeof(*rt));
	if (!h)
		return 0;
	rt = msg_fixed(h);
	rt->rtm_family = (uint8_t)family;
	rt->rtm_dst_len = 0;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	if (put_attr(h, cap, RTA_GATEWAY, gw, alen) != 0 ||
	    put_attr(h, cap, RTA_OIF, &oif, sizeof(oif)) != 0)
		return 0;
	return h->nlmsg_len;
}

size_t net_nlmsg_build_addr_dump(void *buf, size_t cap, uint32_t seq, int family)
{
	struct nlmsghdr *h = msg_init(buf, cap, RTM_GETADDR, NLM_F_DUMP, seq,
				      sizeof(struct ifaddrmsg));
	struct ifaddrmsg *ifa;

	if (!h)
		return 0;
	ifa = msg_fixed(h);
	ifa->ifa_family = (uint8_t)family;
	return h->nlmsg_len;
}

/* ---- parsing ----------------------------------------------------------------- */

const struct nlmsghdr *net_nlmsg_next(const void *vbuf, size_t len, size_t *off, int *bad)
{
	const char *buf = vbuf;
	const struct nlmsghdr *h;

	if (*off >= len)
		return NULL;
	if (len - *off < sizeof(*h)) {
		*bad = 1;
		return NULL;
	}
	h = (const struct nlmsghdr *)(buf + *off);
	if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - *off) {
		*bad = 1;
		return NULL;
	}
	*off += NLMSG_ALIGN(h->nlmsg_len);
	return h;
}

static void ext_ack_msg(const struct nlmsghdr *h, char *msg, size_t msglen)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t hlen = sizeof(*e), plen = h->nlmsg_len - NLMSG_HDRLEN;
	const struct rtattr *rta;
	size_t alen;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return;
		hlen += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	hlen = NLMSG_ALIGN(hlen);
	if (hlen >= plen)
		return;
	rta = (const struct rtattr *)((const char *)e + hlen);
	alen = plen - hlen;
	for (; RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
		if (rta->rta_type == NLMSGERR_ATTR_MSG) {
			size_t n = RTA_PAYLOAD(rta);
			const char *s = RTA_DATA(rta);
			size_t i;

			for (i = 0; i < n && i + 1 < msglen && s[i]; i++)
				msg[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
			msg[i] = '\0';
			return;
		}
	}
}

int net_nlmsg_parse_ack(const void *buf, size_t len, uint32_t seq, int *error, char *msg,
			size_t msglen)
{
	const struct nlmsghdr *h;
	size_t off = 0;
	int bad = 0;

	if (msg && msglen)
		msg[0] = '\0';
	while ((h = net_nlmsg_next(buf, len, &off, &bad)) != NULL) {
		const struct nlmsgerr *e;

		if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
			continue;
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
			return -1;
		e = NLMSG_DATA(h);
		if (e->error > 0 || e->error < -4095)
			return -1;
		*error = -e->error;
		if (e->error != 0 && msg && msglen &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)))
			ext_ack_msg(h, msg, msglen);
		return 1;
	}
	return bad ? -1 : 0;
}

int net_nlmsg_parse_addr(const void *msg, size_t len, struct nl_addr *out)
{
	const struct nlmsghdr *h = msg;
	const struct ifaddrmsg *ifa;
	const struct rtattr *rta;
	size_t alen, rlen;
	int have_local = 0, have_addr = 0;
	uint8_t addr[16];

	if (len < NLMSG_LENGTH(sizeof(*ifa)) || h->nlmsg_len > len ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) || h->nlmsg_type != RTM_NEWADDR)
		return -1;
	ifa = NLMSG_DATA(h);
	alen = addr_len(ifa->ifa_family);
	if (alen == 0 || ifa->ifa_prefixlen > alen * 8)
		return -1;
	memset(out, 0, sizeof(*out));
	out->family = ifa->ifa_family;
	out->prefix = ifa->ifa_prefixlen;
	out->ifindex = (int)ifa->ifa_index;
	out->flags = ifa->ifa_flags;
	out->valid_lft = out->pref_lft = NL_LFT_FOREVER;
	rta = IFA_RTA(ifa);
	rlen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa));
	for (; RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
		size_t pl = RTA_PAYLOAD(rta);

		switch (rta->rta_type) {
		case IFA_LOCAL:
			if (pl != alen)
				return -1;
			memcpy(out->addr, RTA_DATA(rta), alen);
			have_local = 1;
			break;
		case IFA_ADDRESS:
			if (pl != alen)
				return -1;
			memcpy(addr, RTA_DATA(rta), alen);
			have_addr = 1;
			break;
		case IFA_CACHEINFO: {
			struct ifa_cacheinfo ci;
			if (pl < sizeof(ci))
				return -1;
			memcpy(&ci, RTA_DATA(rta), sizeof(ci));
			out->valid_lft = ci.ifa_valid;
			out->pref_lft = ci.ifa_prefered;
			break;
		}
		case IFA_FLAGS:
			if (pl < sizeof(uint32_t))
				return -1;
			memcpy(&out->flags, RTA_DATA(rta), sizeof(uint32_t));
			break;
		default:
			break;
		}
	}
	/* IPv6 has no IFA_LOCAL: the address is IFA_ADDRESS */
	if (!have_local) {
		if (!have_addr)
			return -1;
		memcpy(out->addr, addr, alen);
	}
	return 0;
}

/* vxlan id and underlay, vlan id (IFLA_INFO_DATA of a known kind). */
static int parse_info_data(const struct rtattr *data, struct nl_link *out)
{
	const struct rtattr *in = RTA_DATA(data);
	size_t inl = RTA_PAYLOAD(data);
	int vx = strcmp(out->kind, "vxlan") == 0, vl = strcmp(out->kind, "vlan") == 0;

	if (!vx && !vl)
		return 0;
	for (; RTA_OK(in, inl); in = RTA_NEXT(in, inl)) {
		size_t pl = RTA_PAYLOAD(in);
		uint32_t v32;
		uint16_t v16;

		if (vx && (in->rta_type == IFLA_VXLAN_ID || in->rta_type == IFLA_VXLAN_LINK)) {
			if (pl < sizeof(v32))
				return -1;
			memcpy(&v32, RTA_DATA(in), sizeof(v32));
			if (v32 > 0x7fffffff)
				return -1;
			if (in->rta_type == IFLA_VXLAN_ID) {
				out->id = v32;
				out->has_id = 1;
			} else {
				out->link = (int)v32;
			}
		} else if (vl && in->rta_type == IFLA_VLAN_ID) {
			if (pl < sizeof(v16))
				return -1;
			memcpy(&v16, RTA_DATA(in), sizeof(v16));
			out->id = v16;
			out->has_id = 1;
		}
	}
	return 0;
}

/* IFLA_LINKINFO: the kind, and where its data is (*idata). 0 or -1. */
static int parse_linkinfo(const struct rtattr *rta, struct nl_link *out,
			  const struct rtattr **idata)
{
	const struct rtattr *in = RTA_DATA(rta);
	size_t inl = RTA_PAYLOAD(rta);

	for (; RTA_OK(in, inl); in = RTA_NEXT(in, inl)) {
		size_t kl = RTA_PAYLOAD(in);
		if (in->rta_type == IFLA_INFO_DATA) {
			*idata = in;
			continue;
		}
		if (in->rta_type != IFLA_INFO_KIND)
			continue;
		if (kl >= sizeof(out->kind))
			return -1;
		memcpy(out->kind, RTA_DATA(in), kl);
		out->kind[kl] = '\0';
	}
	return 0;
}

/* One top-level attribute of RTM_NEWLINK. 0 or -1. */
static int parse_link_attr(const struct rtattr *rta, struct nl_link *out,
			   const struct rtattr **idata)
{
	size_t pl = RTA_PAYLOAD(rta);
	uint32_t v;

	switch (rta->rta_type) {
	case IFLA_MTU:
	case IFLA_MASTER:
	case IFLA_LINK:
		if (pl < sizeof(v))
			return -1;
		memcpy(&v, RTA_DATA(rta), sizeof(v));
		if (v > 0x7fffffff)
			return -1;
		if (rta->rta_type == IFLA_MTU)
			out->mtu = (int)v;
		else if (rta->rta_type == IFLA_MASTER)
			out->master = (int)v;
		else
			out->link = (int)v;
		return 0;
	case IFLA_IFNAME: {
		const char *nm = RTA_DATA(rta);
		size_t nl = strnlen(nm, pl);
		if (nl == 0 || nl >= sizeof(out->name))
			return -1;
		memcpy(out->name, nm, nl);
		out->name[nl] = '\0';
		return 0;
	}
	case IFLA_ADDRESS:
		if (pl > sizeof(out->mac))
			return -1;
		memcpy(out->mac, RTA_DATA(rta), pl);
		out->maclen = (int)pl;
		return 0;
	case IFLA_LINKINFO:
		return parse_linkinfo(rta, out, idata);
	default:
		return 0;
	}
}

int net_nlmsg_parse_link(const void *msg, size_t len, struct nl_link *out)
{
	const struct nlmsghdr *h = msg;
	const struct ifinfomsg *ifi;
	const struct rtattr *rta, *idata = NULL;
	size_t rlen;

	if (len < NLMSG_LENGTH(sizeof(*ifi)) || h->nlmsg_len > len ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || h->nlmsg_type != RTM_NEWLINK)
		return -1;
	ifi = NLMSG_DATA(h);
	if (ifi->ifi_index <= 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	rta = IFLA_RTA(ifi);
	rlen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	for (; RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen))
		if (parse_link_attr(rta, out, &idata) != 0)
			return -1;
	/* the kind precedes its data in practice, but nothing promises it */
	if (idata && parse_info_data(idata, out) != 0)
		return -1;
	/* a loopback has an all-zero "address": it cannot be announced */
	if (out->maclen) {
		int i, nz = 0;
		for (i = 0; i < out->maclen; i++)
			nz |= out->mac[i];
		if (!nz)
			out->maclen = 0;
	}
	return 0;
}

const char *net_nlmsg_addr_str(const struct nl_addr *a, char *buf, size_t size)
{
	char txt[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, a->addr, txt, sizeof(txt)))
		snprintf(txt, sizeof(txt), "?");
	snprintf(buf, size, "%s/%d", txt, a->prefix);
	return buf;
}
