/*
 * netlink.c: synchronous rtnetlink requests for net-router (messages:
 * nlmsg.c).
 *
 * rtnetlink processes a request inside sendto(), so one request then one blocking
 * read of its ACK costs a few microseconds; no batching is needed for the dozen
 * addresses a primary owns. Answers are accepted only from the kernel (port id 0)
 * and for the sequence number we sent.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "net_netlink.h"

#define NL_RCVBUF 32768
#define NL_TIMEOUT_MS 1000

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* ---- requests ---------------------------------------------------------------- */

int net_netlink_open(struct nl_sock *s)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s->fd < 0)
		return -errno;
	/* Extended ACKs name the offending attribute; capped ACKs keep answers small.
	 * Both are optional (older kernels), so failures are not fatal. */
	(void)setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(s->fd);
		s->fd = -1;
		return -e;
	}
	s->seq = 1;
	return 0;
}

void net_netlink_close(struct nl_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int nl_send(struct nl_sock *s, void *msg, size_t len, uint32_t *seq)
{
	struct nlmsghdr *h = msg;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t r;

	h->nlmsg_seq = *seq = s->seq++;
	if (s->seq == 0)
		s->seq = 1;
	do {
		r = sendto(s->fd, msg, len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r != len)
		return -EMSGSIZE;
	return 0;
}

/* Receive one datagram from the kernel into buf (4-byte aligned). */
static ssize_t nl_recv(struct nl_sock *s, void *buf, size_t cap)
{
	struct sockaddr_nl from;
	socklen_t fl;
	ssize_t r;

	for (;;) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		int pr = poll(&pfd, 1, NL_TIMEOUT_MS);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			return -ETIMEDOUT;
		fl = sizeof(from);
		r = recvfrom(s->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if ((size_t)r > cap)
			return -EMSGSIZE;
		if (fl < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue; /* not from the kernel: ignore */
		return r;
	}
}

int net_netlink_request(struct nl_sock *s, void *msg, size_t len)
{
	static _Alignas(struct nlmsghdr) char buf[8192];
	uint32_t seq;
	int rc, err;

	s->err[0] = '\0';
	if (len < sizeof(struct nlmsghdr))
		return -EINVAL;
	((struct nlmsghdr *)msg)->nlmsg_flags |= NLM_F_ACK;
	rc = nl_send(s, msg, len, &seq);
	if (rc != 0)
		return rc;
	for (;;) {
		ssize_t r = nl_recv(s, buf, sizeof(buf));
		if (r < 0)
			return (int)r;
		rc = net_nlmsg_parse_ack(buf, (size_t)r, seq, &err, s->err, sizeof(s->err));
		if (rc < 0)
			return -EBADMSG;
		if (rc == 1)
			return -err;
		/* a late answer to an earlier request: skip it */
	}
}

static int link_query(struct nl_sock *s, void *req, size_t len, struct nl_link *out)
{
	static _Alignas(struct nlmsghdr) char buf[16384];
	uint32_t seq;
	int rc;

	s->err[0] = '\0';
	if (len == 0)
		return -EINVAL;
	rc = nl_send(s, req, len, &seq);
	if (rc != 0)
		return rc;
	for (;;) {
		ssize_t r = nl_recv(s, buf, sizeof(buf));
		const struct nlmsghdr *h;
		size_t off = 0;
		int bad = 0;

		if (r < 0)
			return (int)r;
		while ((h = net_nlmsg_next(buf, (size_t)r, &off, &bad)) != NULL) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = 0;
				if (net_nlmsg_parse_ack(h, h->nlmsg_len, seq, &err, s->err,
							sizeof(s->err)) != 1)
					return -EBADMSG;
				return err ? -err : -EBADMSG;
			}
			if (net_nlmsg_parse_link(h, h->nlmsg_len, out) != 0)
				return -EBADMSG;
			return 0;
		}
		if (bad)
			return -EBADMSG;
	}
}

int net_netlink_link_query(struct nl_sock *s, const char *name, struct nl_link *out)
{
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];

	return link_query(s, req, net_nlmsg_build_link_get(req, sizeof(req), 0, name), out);
}

int net_netlink_link_query_index(struct nl_sock *s, int ifindex, struct nl_link *out)
{
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];

	return link_query(s, req, net_nlmsg_build_link_get_index(req, sizeof(req), 0, ifindex), out);
}

int net_netlink_addr_dump(struct nl_sock *s, int family, struct nl_addr **out, size_t *n)
{
	static _Alignas(struct nlmsghdr) char buf[NL_RCVBUF];
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];
	size_t len = net_nlmsg_build_addr_dump(req, sizeof(req), 0, family), cap = 0;
	struct nl_addr *v = NULL;
	uint32_t seq;
	int rc;

	*out = NULL;
	*n = 0;
	if (len == 0)
		return -EINVAL;
	rc = nl_send(s, req, len, &seq);
	if (rc != 0)
		return rc;
	for (;;) {
		ssize_t r = nl_recv(s, buf, sizeof(buf));
		const struct nlmsghdr *h;
		size_t off = 0;
		int bad = 0;

		if (r < 0) {
			free(v);
			*n = 0;
			return (int)r;
		}
		while ((h = net_nlmsg_next(buf, (size_t)r, &off, &bad)) != NULL) {
			struct nl_addr a;

			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				*out = v;
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = EBADMSG;
				(void)net_nlmsg_parse_ack(h, h->nlmsg_len, seq, &err, s->err,
							  sizeof(s->err));
				free(v);
				*n = 0;
				return -(err ? err : EBADMSG);
			}
			if (net_nlmsg_parse_addr(h, h->nlmsg_len, &a) != 0)
				continue; /* a family we do not handle */
			if (*n == cap) {
				size_t nc = cap ? cap * 2 : 32;
				struct nl_addr *nv = realloc(v, nc * sizeof(*v));
				if (!nv) {
					free(v);
					*n = 0;
					return -ENOMEM;
				}
				v = nv;
				cap = nc;
			}
			v[(*n)++] = a;
		}
		if (bad) {
			free(v);
			*n = 0;
			return -EBADMSG;
		}
	}
}

int net_netlink_addr_set(struct nl_sock *s, const struct nl_addr *a)
{
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];
	size_t len = net_nlmsg_build_addr(req, sizeof(req), RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
					  0, a);

	if (len == 0)
		return -EINVAL;
	return net_netlink_request(s, req, len);
}

int net_netlink_addr_del(struct nl_sock *s, const struct nl_addr *a)
{
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];
	size_t len = net_nlmsg_build_addr(req, sizeof(req), RTM_DELADDR, 0, 0, a);
	int rc;

	if (len == 0)
		return -EINVAL;
	rc = net_netlink_request(s, req, len);
	/* already gone (expired, or never added) is the state we want */
	if (rc == -EADDRNOTAVAIL || rc == -ENOENT || rc == -ESRCH)
		return 0;
	return rc;
}

int net_netlink_link_dump(struct nl_sock *s, struct nl_link **out, size_t *n)
{
	static _Alignas(struct nlmsghdr) char buf[NL_RCVBUF];
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];
	size_t len = net_nlmsg_build_link_dump(req, sizeof(req), 0), cap = 0;
	struct nl_link *v = NULL;
	uint32_t seq;
	int rc;

	*out = NULL;
	*n = 0;
	if (len == 0)
		return -EINVAL;
	rc = nl_send(s, req, len, &seq);
	if (rc != 0)
		return rc;
	for (;;) {
		ssize_t r = nl_recv(s, buf, sizeof(buf));
		const struct nlmsghdr *h;
		size_t off = 0;
		int bad = 0;

		if (r < 0) {
			rc = (int)r;
			goto fail;
		}
		while ((h = net_nlmsg_next(buf, (size_t)r, &off, &bad)) != NULL) {
			struct nl_link l;

			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				*out = v;
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = EBADMSG;
				(void)net_nlmsg_parse_ack(h, h->nlmsg_len, seq, &err, s->err,
							  sizeof(s->err));
				rc = -(err ? err : EBADMSG);
				goto fail;
			}
			if (net_nlmsg_parse_link(h, h->nlmsg_len, &l) != 0)
				continue; /* one odd link does not hide the others */
			if (*n == cap) {
				size_t nc = cap ? cap * 2 : 32;
				struct nl_link *nv = realloc(v, nc * sizeof(*v));
				if (!nv) {
					rc = -ENOMEM;
					goto fail;
				}
				v = nv;
				cap = nc;
			}
			v[(*n)++] = l;
		}
		if (bad) {
			rc = -EBADMSG;
			goto fail;
		}
	}
fail:
	free(v);
	*n = 0;
	return rc;
}

int net_netlink_link_new(struct nl_sock *s, const struct nl_newlink *nl)
{
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];
	size_t len = net_nlmsg_build_link_new(req, sizeof(req), 0, nl);

	return len ? net_netlink_request(s, req, len) : -EINVAL;
}

int net_netlink_link_del(struct nl_sock *s, int ifindex)
{
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];
	size_t len = net_nlmsg_build_link_del(req, sizeof(req), 0, ifindex);
	int rc;

	if (len == 0)
		return -EINVAL;
	rc = net_netlink_request(s, req, len);
	return rc == -ENODEV ? 0 : rc;
}

int net_netlink_link_set(struct nl_sock *s, int ifindex, int up, int mtu, int master)
{
	_Alignas(struct nlmsghdr) char req[NL_MSG_MAX];
	size_t len = net_nlmsg_build_link_set(req, sizeof(req), 0, ifindex, up, mtu, master);

	return len ? net_netlink_request(s, req, len) : -EINVAL;
}
