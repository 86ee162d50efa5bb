/*
 * lease.c: the lease socket. dnsmasq runs the lease helper for every DHCP
 * event; the helper has no ZooKeeper session of its own and hands the event to
 * this socket. Everything read here is untrusted: the peer must be net-router's
 * own user (the helper runs as dnsmasq, as net-router) or root, the request is
 * parsed by lease_proto, and a slow or silent peer is cut off by a timer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "log.h"
#include "net_lease.h"
#include "pvc.h"
#include "worker.h"

int net_lease_open(struct netl *L, const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(L, 0, sizeof(*L));
	L->lfd = -1;
	L->uid = uid;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_errx("lease socket path %s is too long (max %zu)", path,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	L->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (L->lfd < 0) {
		log_err("lease socket");
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT)
		log_warnx("cannot remove stale %s: %s", path, strerror(errno));
	if (bind(L->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chown(path, uid, gid) != 0 || chmod(path, 0600) != 0 || listen(L->lfd, 16) != 0) {
		log_err("lease socket %s", path);
		close(L->lfd);
		L->lfd = -1;
		return -1;
	}
	return 0;
}

static void conn_close(struct netl_conn *c)
{
	struct netl *L = c->L;

	for (size_t i = 0; i < NETL_MAX_CONNS; i++)
		if (L->c[i] == c)
			L->c[i] = NULL;
	if (c->timer)
		ev_timer_cancel(L->w->loop, c->timer);
	ev_del_fd(L->w->loop, c->fd);
	close(c->fd);
	free(c);
}

/* The reply is small (a status line, for init the lease lines): written with a
 * bounded wait, then the connection is closed. */
static void send_all(struct netl_conn *c, const char *buf, size_t len)
{
	uint64_t deadline = mono_ms() + 1000;

	while (len) {
		ssize_t r = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (r > 0) {
			buf += r;
			len -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN && mono_ms() < deadline) {
			struct pollfd pf = {.fd = c->fd, .events = POLLOUT};
			(void)poll(&pf, 1, (int)(deadline - mono_ms()));
			continue;
		}
		log_warnx("lease helper went away before its reply: %s",
			  r < 0 ? strerror(errno) : "short write");
		return;
	}
}

static void answer(struct netl_conn *c, int rc, const char *msg)
{
	char line[600];
	int n = lease_reply_format_status(rc, msg, line, sizeof(line));

	if (n > 0)
		send_all(c, line, (size_t)n);
	conn_close(c);
}

static void on_timeout(struct ev_loop *loop, void *arg)
{
	struct netl_conn *c = arg;

	(void)loop;
	c->timer = 0;
	if (c->reqid) {
		log_warnx("lease request %llu: no answer from zk-election in %d ms",
			  (unsigned long long)c->reqid, NETL_REPLY_MS);
		answer(c, NETL_RC_TIMEOUT, "timed out waiting for ZooKeeper");
	} else {
		log_warnx("lease helper sent no request line in %d ms: closed", NETL_READ_MS);
		c->L->refused++;
		conn_close(c);
	}
}

static void forward(struct netl_conn *c, const struct lease_req *r)
{
	struct netl *L = c->L;
	char id[24], vni[16], exp[24];
	const char *v[8];

	c->reqid = ++L->next_id;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)c->reqid);
	snprintf(vni, sizeof(vni), "%u", r->vni);
	if (r->has_expiry)
		snprintf(exp, sizeof(exp), "%llu", (unsigned long long)r->expiry);
	else
		exp[0] = '\0';
	v[0] = id;
	v[1] = lease_action_name(r->action);
	v[2] = vni;
	v[3] = r->mac;
	v[4] = r->ip;
	v[5] = r->hostname;
	v[6] = exp;
	v[7] = r->has_expiry ? r->clientid : "";
	if (worker_send_strv(L->w, MSG_NET_LEASE_EVENT, ROLE_ZK, v, 8) != 0) {
		answer(c, NETL_RC_TIMEOUT, "cannot reach zk-election");
		return;
	}
	L->forwarded++;
	ev_del_fd(L->w->loop, c->fd); /* nothing more to read: the reply comes over IPC */
	if (c->timer)
		ev_timer_cancel(L->w->loop, c->timer);
	c->timer = ev_timer(L->w->loop, NETL_REPLY_MS, on_timeout, c);
	log_debug("lease %s network %s %s %s: request %s", v[1], vni, r->mac, r->ip, id);
}

static void on_read(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct netl_conn *c = arg;
	struct lease_req req;
	char err[200];
	char *nl;
	ssize_t r;

	(void)loop;
	(void)fd;
	(void)revents;
	r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)r;
	nl = memchr(c->buf, '\n', c->len);
	if (!nl) {
		if (c->len == sizeof(c->buf)) {
			log_warnx("lease request longer than %d bytes: refused", LEASE_LINE_MAX);
			c->L->refused++;
			answer(c, LEASE_RC_REFUSED, "request line too long");
		}
		return;
	}
	if (lease_req_parse(c->buf, (size_t)(nl - c->buf) + 1, &req, err, sizeof(err)) != 0) {
		log_warnx("invalid lease request refused: %s", err);
		c->L->refused++;
		answer(c, LEASE_RC_REFUSED, err);
		return;
	}
	forward(c, &req);
}

static void on_accept(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct netl *L = arg;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct netl_conn *c;
	size_t slot;
	int cfd;

	(void)loop;
	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warnx("lease socket accept: %s", strerror(errno));
		return;
	}
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 ||
	    (cr.uid != L->uid && cr.uid != 0)) {
		log_warnx("lease socket: refused a peer with uid %d (only %u or root)",
			  cl == sizeof(cr) ? (int)cr.uid : -1, (unsigned)L->uid);
		L->refused++;
		close(cfd);
		return;
	}
	for (slot = 0; slot < NETL_MAX_CONNS && L->c[slot]; slot++)
		;
	c = slot < NETL_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		log_warnx("lease socket: %d requests in progress: refused one", NETL_MAX_CONNS);
		L->refused++;
		close(cfd);
		return;
	}
	c->L = L;
	c->fd = cfd;
	if (ev_add_fd(L->w->loop, cfd, POLLIN, on_read, c) != 0) {
		close(cfd);
		free(c);
		return;
	}
	L->c[slot] = c;
	c->timer = ev_timer(L->w->loop, NETL_READ_MS, on_timeout, c);
}

int net_lease_start(struct netl *L, struct worker *w)
{
	L->w = w;
	if (L->lfd < 0)
		return -1;
	if (ev_add_fd(w->loop, L->lfd, POLLIN, on_accept, L) != 0) {
		log_errx("cannot watch the lease socket");
		return -1;
	}
	return 0;
}

void net_lease_reply(struct netl *L, const struct ipc_strv *sv)
{
	unsigned long long id;
	long long rc;
	char *end;
	struct netl_conn *c = NULL;
	char *out;
	size_t cap = 600, len = 0;

	if (sv->n < 2) {
		log_warnx("ignoring lease reply with %u fields", sv->n);
		return;
	}
	errno = 0;
	id = strtoull(sv->v[0], &end, 10);
	if (errno || *end || id == 0) {
		log_warnx("ignoring lease reply with request id \"%.30s\"", sv->v[0]);
		return;
	}
	rc = strtoll(sv->v[1], &end, 10);
	if (errno || *end || rc > 0 || rc < -100000) {
		log_warnx("ignoring lease reply %llu with rc \"%.30s\"", id, sv->v[1]);
		return;
	}
	for (size_t i = 0; i < NETL_MAX_CONNS && !c; i++)
		if (L->c[i] && L->c[i]->reqid == id)
			c = L->c[i];
	if (!c) {
		log_debug("lease reply %llu: its request is gone (timed out)", id);
		return;
	}
	for (uint32_t i = 2; i < sv->n; i++)
		cap += strlen(sv->v[i]) + 1;
	out = malloc(cap);
	if (!out) {
		answer(c, NETL_RC_TIMEOUT, "out of memory");
		return;
	}
	{
		int n = lease_reply_format_status((int)rc, rc ? "refused by zk-election" : "ok", out,
						  600);
		if (n < 0) {
			free(out);
			answer(c, NETL_RC_TIMEOUT, "bad reply");
			return;
		}
		len = (size_t)n;
	}
	for (uint32_t i = 2; i < sv->n; i++) {
		size_t l = strlen(sv->v[i]);
		/* lines come from ZooKeeper through zk-election: pass only valid ones */
		if (!lease_line_valid(sv->v[i], l)) {
			log_warnx("lease reply %llu: dropping invalid lease line \"%.60s\"", id,
				  sv->v[i]);
			continue;
		}
		memcpy(out + len, sv->v[i], l);
		out[len + l] = '\n';
		len += l + 1;
	}
	L->answered++;
	send_all(c, out, len);
	free(out);
	conn_close(c);
}

void net_lease_close(struct netl *L)
{
	for (size_t i = 0; i < NETL_MAX_CONNS; i++)
		if (L->c[i])
			conn_close(L->c[i]);
	if (L->lfd >= 0) {
		if (L->w)
			ev_del_fd(L->w->loop, L->lfd);
		close(L->lfd);
	}
	L->lfd = -1;
}
