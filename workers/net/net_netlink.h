/*
 * net_netlink.h: raw rtnetlink for net-router (no libmnl/libnl): message builders and
 * parsers that touch no socket (nlmsg.c, unit-tested), and synchronous ACKed
 * requests (netlink.c).
 */
#ifndef NET_NETLINK_H
#define NET_NETLINK_H

#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

#define NL_LFT_FOREVER 0xffffffffu
#define NL_MSG_MAX 1024u /* every request we build fits */

/* One address as the kernel sees it (RTM_NEWADDR / RTM_DELADDR / dump entries). */
struct nl_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
	int ifindex;
	uint32_t valid_lft; /* seconds, NL_LFT_FOREVER = permanent */
	uint32_t pref_lft;
	uint32_t flags; /* IFA_F_* */
};

struct nl_link {
	int ifindex;
	int mtu;
	int master; /* 0: none */
	unsigned flags; /* IFF_* */
	uint8_t mac[8];
	int maclen;   /* 0: no link-layer address (lo, tunnels) */
	char kind[16]; /* IFLA_INFO_KIND, "" if none */
	char name[16]; /* IFLA_IFNAME */
	int link;      /* IFLA_LINK (vlan lower device) or IFLA_VXLAN_LINK, 0 if none */
	uint32_t id;   /* IFLA_VXLAN_ID or IFLA_VLAN_ID, 0 if none */
	int has_id;
};

/* A virtual link to create (client networks). */
struct nl_newlink {
	const char *name;
	const char *kind; /* "bridge", "vxlan" or "vlan" */
	int link;         /* vlan: lower device; vxlan: underlay device (0: none) */
	uint32_t id;      /* vxlan VNI (< 2^24) / vlan id (1..4094) */
	uint16_t port;    /* vxlan destination UDP port, host order */
	int mtu;          /* 0: the kernel's default */
};

struct nl_sock {
	int fd;
	uint32_t seq;
	char err[200]; /* extended ACK text of the last failed request, "" if none */
};

/* ---- pure builders: return the message length, 0 if it does not fit ------------ */
size_t net_nlmsg_build_addr(void *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq,
			    const struct nl_addr *a);
/* RTM_NEWLINK on an existing link: up (if up), mtu (if > 0), master (if >= 0; 0 = none). */
size_t net_nlmsg_build_link_set(void *buf, size_t cap, uint32_t seq, int ifindex, int up, int mtu,
				int master);
/* RTM_NEWLINK creating a bridge named `name` (NLM_F_CREATE|NLM_F_EXCL). */
size_t net_nlmsg_build_bridge_new(void *buf, size_t cap, uint32_t seq, const char *name);
/* RTM_NEWLINK creating a bridge, vxlan (learning on, no remote/group) or vlan
 * link (NLM_F_CREATE|NLM_F_EXCL). */
size_t net_nlmsg_build_link_new(void *buf, size_t cap, uint32_t seq, const struct nl_newlink *nl);
/* RTM_DELLINK by index. */
size_t net_nlmsg_build_link_del(void *buf, size_t cap, uint32_t seq, int ifindex);
/* RTM_GETLINK dump of every link (statistics skipped). */
size_t net_nlmsg_build_link_dump(void *buf, size_t cap, uint32_t seq);
/* RTM_GETLINK by name, or by index when name is NULL. */
size_t net_nlmsg_build_link_get(void *buf, size_t cap, uint32_t seq, const char *name);
size_t net_nlmsg_build_link_get_index(void *buf, size_t cap, uint32_t seq, int ifindex);
/* RTM_NEWROUTE default route via gw (4 or 16 bytes) on ifindex, create or replace. */
size_t net_nlmsg_build_route_default(void *buf, size_t cap, uint32_t seq, int family,
				     const uint8_t *gw, int ifindex);
/* RTM_GETADDR dump (family AF_UNSPEC for both). */
size_t net_nlmsg_build_addr_dump(void *buf, size_t cap, uint32_t seq, int family);

/* ---- pure parsers ------------------------------------------------------------ */
/* Look for the NLMSG_ERROR answering `seq` in buf[0..len). Returns 1 when found
 * (*error = 0 for success or a positive errno, msg = extended ACK text if any),
 * 0 when buf holds no answer for seq, -1 when buf is malformed. */
int net_nlmsg_parse_ack(const void *buf, size_t len, uint32_t seq, int *error, char *msg,
			size_t msglen);
/* Decode one RTM_NEWADDR message (header included, `len` bytes). 0 or -1. */
int net_nlmsg_parse_addr(const void *msg, size_t len, struct nl_addr *out);
/* Decode one RTM_NEWLINK message. 0 or -1. */
int net_nlmsg_parse_link(const void *msg, size_t len, struct nl_link *out);

/* Walk the messages of buf[0..len): the next complete one at *off (advanced), NULL
 * at the end or on a length that does not fit (*bad set). */
const struct nlmsghdr *net_nlmsg_next(const void *buf, size_t len, size_t *off, int *bad);

/* Text form "a.b.c.d/p" or "x::y/p" for logs and acks. */
const char *net_nlmsg_addr_str(const struct nl_addr *a, char *buf, size_t size);

/* ---- requests (blocking, bounded by a 1 s timeout) ----------------------------- */
int net_netlink_open(struct nl_sock *s);
void net_netlink_close(struct nl_sock *s);
/* Send one request with NLM_F_ACK set and wait for its ACK: 0 or -errno. */
int net_netlink_request(struct nl_sock *s, void *msg, size_t len);
/* Look a link up by name: 0, -ENODEV if it does not exist, or another -errno. */
int net_netlink_link_query(struct nl_sock *s, const char *name, struct nl_link *out);
int net_netlink_link_query_index(struct nl_sock *s, int ifindex, struct nl_link *out);
/* Dump every link; *out is malloc'ed (free it). 0 or -errno. */
int net_netlink_link_dump(struct nl_sock *s, struct nl_link **out, size_t *n);
/* Create a link (net_nlmsg_build_link_new); delete one by index (absent is success). */
int net_netlink_link_new(struct nl_sock *s, const struct nl_newlink *nl);
int net_netlink_link_del(struct nl_sock *s, int ifindex);
/* Set up / MTU / master (see net_nlmsg_build_link_set). */
int net_netlink_link_set(struct nl_sock *s, int ifindex, int up, int mtu, int master);
/* Dump every address of `family`; *out is malloc'ed (free it). 0 or -errno. */
int net_netlink_addr_dump(struct nl_sock *s, int family, struct nl_addr **out, size_t *n);

/* Convenience wrappers around net_netlink_request. */
int net_netlink_addr_set(struct nl_sock *s, const struct nl_addr *a); /* create or replace */
int net_netlink_addr_del(struct nl_sock *s, const struct nl_addr *a); /* absent is success */

#endif
