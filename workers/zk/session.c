/*
 * session.c: the one ZooKeeper session of the node, driven by the worker's
 * poll loop (single-threaded client: zookeeper_interest() before each poll,
 * zookeeper_process() when the socket is ready), connection state tracking,
 * the ping that measures the session lease, and session replacement on expiry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zk_acl.h"
#include "zk_internal.h"

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);

const char *zk_session_err(int rc)
{
	return zerror(rc);
}

int zk_session_usable(const struct zk_ctx *z)
{
	return z->zh != NULL && !z->closing && z->conn == ZKC_CONNECTED;
}

int zk_session_lease_valid(const struct zk_ctx *z)
{
	return z->lease_until != 0 && mono_ms() < z->lease_until;
}

/* The client library's own log lines: debug only, they repeat what we report. */
static void zk_log_cb(const char *message)
{
	log_debug("zookeeper: %s", message);
}

static void zk_fd_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct zk_ctx *z = arg;
	int events = 0, rc;

	if (z->zh == NULL)
		return;
	if (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
		events |= ZOOKEEPER_READ;
	if (revents & POLLOUT)
		events |= ZOOKEEPER_WRITE;
	rc = zookeeper_process(z->zh, events);
	if (rc != ZOK && rc != ZNOTHING && rc != ZCONNECTIONLOSS && rc != ZINVALIDSTATE)
		log_debug("zookeeper_process: %s", zk_session_err(rc));
}

/* Before every poll: let the client tell which socket, which events and how long. */
static int zk_prepare(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;
	int fd = -1, interest = 0, rc;
	struct timeval tv = {0, 0};
	long long ms;

	if (z->zh == NULL || z->closing) {
		if (z->fd >= 0) {
			ev_del_fd(loop, z->fd);
			z->fd = -1;
		}
		return -1;
	}
	rc = zookeeper_interest(z->zh, &fd, &interest, &tv);
	if (rc != ZOK && rc != ZCONNECTIONLOSS && rc != ZINVALIDSTATE)
		log_debug("zookeeper_interest: %s", zk_session_err(rc));
	if (fd != z->fd && z->fd >= 0)
		ev_del_fd(loop, z->fd);
	z->fd = fd;
	if (fd >= 0) {
		short ev = 0;
		if (interest & ZOOKEEPER_READ)
			ev |= POLLIN;
		if (interest & ZOOKEEPER_WRITE)
			ev |= POLLOUT;
		if (ev_add_fd(loop, fd, ev, zk_fd_event, z) != 0)
			log_warnx("zookeeper: cannot watch fd %d", fd);
	}
	if (rc == ZINVALIDSTATE)
		return 100; /* expired or closing: the restart timer takes over */
	ms = (long long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
	if (ms < 0)
		ms = 0;
	/* Connected, the client's timeout is its next deadline (ping, receive timeout):
	 * waking earlier only costs a wake-up. Otherwise poll at least once a second. */
	if (ms > 1000 && z->conn != ZKC_CONNECTED)
		ms = 1000;
	return (int)ms;
}

/* ---- the lease ping -------------------------------------------------------------- */

static void zk_lease_timer(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	z->lease_timer = 0;
	if (z->lease_until != 0 && mono_ms() >= z->lease_until) {
		z->lease_until = 0;
		log_warnx("ZooKeeper session lease lapsed (last answer %llu ms ago)",
			  (unsigned long long)(mono_ms() - z->t_ok));
		z->hooks->lease_lapsed(z);
	}
}

static void zk_ping_done(int rc, const struct Stat *stat, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	uint64_t lease, now = mono_ms();

	z->ping_inflight = 0;
	if (rc != ZOK || z->closing || z->conn != ZKC_CONNECTED)
		return;
	if (z->ping_sent > z->t_ok)
		z->t_ok = z->ping_sent;
	/* The server cannot expire the session before t_ok + T: release the addresses
	 * (lifetime L, kernel slack 1 s) with 500 ms to spare before that. */
	if (z->T <= ZK_LEASE_MARGIN_MS)
		return;
	lease = z->t_ok + (uint64_t)z->T - ZK_LEASE_MARGIN_MS;
	if (lease <= now)
		return;
	z->lease_until = lease;
	if (z->lease_timer)
		ev_timer_cancel(z->loop, z->lease_timer);
	z->lease_timer = ev_timer(z->loop, lease - now, zk_lease_timer, z);
	if (z->lease_timer == 0)
		log_errx("out of timers for the session lease");
	z->hooks->lease_renewed(z);
}

static void zk_ping_send(struct zk_ctx *z)
{
	int rc;

	if (!zk_session_usable(z) || z->ping_inflight || !z->cfg->is_coordinator)
		return;
	z->ping_sent = mono_ms();
	rc = zoo_aexists(z->zh, "/", 0, zk_ping_done, z);
	if (rc == ZOK)
		z->ping_inflight = 1;
	else
		log_debug("ping: %s", zk_session_err(rc));
}

/* At least four pings per lease window (T - margin), so that a healthy session whose
 * answers take a few ms never lets the lease lapse between two of them: at T = 3000 the
 * window is only 500 ms and T/6 pings (500 ms apart) made the primary flap. At larger T
 * the ZooKeeper client's own T/3 ping rhythm needs T/6 for the lease to lead. */
int zk_session_ping_period_ms(int T)
{
	int period, window;

	if (T <= 0)
		return 500;
	period = T / 6;
	window = T - ZK_LEASE_MARGIN_MS;
	if (window > 0 && window / 4 < period)
		period = window / 4;
	return period;
}

static void zk_ping_timer(struct ev_loop *loop, void *arg);

static void zk_ping_arm(struct zk_ctx *z)
{
	int period = zk_session_ping_period_ms(z->T);

	if (period < 100)
		period = 100;
	z->ping_timer = ev_timer(z->loop, (uint64_t)period, zk_ping_timer, z);
	if (z->ping_timer == 0)
		log_errx("out of timers for the lease ping: this node cannot stay primary");
}

/* A secondary that is not contending has no use for a lease: it stops pinging (the
 * client's own ping every T/3 keeps the session) and drops the lease without the
 * lapse warning. The election kicks the pings again the moment it is named or
 * contends; the first answer takes one round trip, in parallel with the lock. */
static void zk_ping_timer(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	z->ping_timer = 0;
	if (!z->hooks->lease_wanted(z)) {
		if (z->lease_timer) {
			ev_timer_cancel(z->loop, z->lease_timer);
			z->lease_timer = 0;
		}
		z->lease_until = 0;
		return;
	}
	zk_ping_send(z);
	zk_ping_arm(z);
}

void zk_session_lease_kick(struct zk_ctx *z)
{
	if (z->ping_timer != 0 || !z->cfg->is_coordinator || z->closing ||
	    !z->hooks->lease_wanted(z))
		return;
	zk_ping_send(z);
	zk_ping_arm(z);
}

/* ---- session life ---------------------------------------------------------------- */

static void zk_restart_timer(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	z->restart_timer = 0;
	zk_session_close(z);
	if (z->phase == 2)
		return;
	z->have_cid = 0;
	z->resumed = 0;
	zk_session_start(z);
}

static void zk_schedule_restart(struct zk_ctx *z, uint64_t delay)
{
	if (z->restart_timer == 0)
		z->restart_timer = ev_timer(z->loop, delay, zk_restart_timer, z);
}

static void zk_publish_session(struct zk_ctx *z)
{
	struct ipc_zk_session s;

	memset(&s, 0, sizeof(s));
	s.client_id = z->cid.client_id;
	memcpy(s.passwd, z->cid.passwd, sizeof(s.passwd));
	s.valid = 1;
	(void)worker_send(z->w, MSG_ZK_SESSION, ROLE_SUPERVISOR, &s, sizeof(s));
	explicit_bzero(&s, sizeof(s));
}

static void zk_on_connected(struct zk_ctx *z)
{
	const clientid_t *id = zoo_client_id(z->zh);
	int new_session = !z->have_cid || id->client_id != z->cid.client_id;

	z->conn = ZKC_CONNECTED;
	z->T = zoo_recv_timeout(z->zh);
	if (new_session) {
		if (z->have_cid)
			log_warnx("ZooKeeper session 0x%llx was not resumed; new session 0x%llx",
				  (unsigned long long)z->cid.client_id,
				  (unsigned long long)id->client_id);
		memcpy(&z->cid, id, sizeof(z->cid));
		z->have_cid = 1;
		z->resumed = 0;
		zk_publish_session(z);
		z->hooks->session_lost(z);
		log_ok("ZooKeeper session 0x%llx established (timeout %d ms)",
		       (unsigned long long)z->cid.client_id, z->T);
	} else {
		log_ok("ZooKeeper session 0x%llx %s (timeout %d ms)",
		       (unsigned long long)z->cid.client_id,
		       z->resumed && !z->connected_once ? "resumed" : "reconnected", z->T);
	}
	if (z->T <= ZK_LEASE_MARGIN_MS)
		log_errx("negotiated session timeout %d ms leaves no lease: this node cannot be primary",
			 z->T);
	z->connected_once = 1;
	zk_ping_send(z);
	z->hooks->connected(z, new_session);
}

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk_ctx *z = ctx;

	if (type != ZOO_SESSION_EVENT || zh != z->zh || z->closing)
		return;
	if (state == ZOO_CONNECTED_STATE) {
		zk_on_connected(z);
	} else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
		if (z->conn == ZKC_CONNECTED)
			log_warnx("ZooKeeper connection lost; session 0x%llx may still be alive",
				  (unsigned long long)z->cid.client_id);
		z->conn = ZKC_CONNECTING;
		z->hooks->status(z);
	} else if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
		log_errx("ZooKeeper session 0x%llx %s: every lock is lost",
			 (unsigned long long)z->cid.client_id,
			 state == ZOO_EXPIRED_SESSION_STATE ? "expired" : "failed authentication");
		z->conn = ZKC_EXPIRED;
		z->lease_until = 0;
		z->hooks->session_lost(z);
		z->hooks->status(z);
		/* not from inside the client's callback */
		zk_schedule_restart(z, 0);
	}
}

/* Every per-path watch of this worker comes here; election.c dispatches by path. */
void zk_session_path_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk_ctx *z = ctx;

	if (type == ZOO_SESSION_EVENT || zh != z->zh || z->closing || path == NULL)
		return;
	z->hooks->watch(z, type, path);
}

void zk_session_start(struct zk_ctx *z)
{
	z->start_pending = 0;
	if (z->zh != NULL || z->phase == 2)
		return;
	errno = 0;
	z->closing = 0;
	z->zh = zookeeper_init2(z->cfg->zk_hosts, session_watcher, z->cfg->zk_session_timeout_ms,
				z->have_cid ? &z->cid : NULL, z, 0, zk_log_cb);
	if (z->zh == NULL) {
		log_warn("zookeeper_init(%s)", z->cfg->zk_hosts);
		zk_schedule_restart(z, 1000);
		return;
	}
	/* Before any request: a create without it would be refused (ZINVALIDACL). A
	 * handle that cannot authenticate is replaced like one that cannot start. */
	if (zk_acl_add_auth(z) < 0) {
		zk_session_close(z);
		zk_schedule_restart(z, 1000);
		return;
	}
	/* By default the client resolves the server names again on every readiness
	 * check (each ping: nsswitch, /etc/hosts, maybe DNS), about a sixth of our idle
	 * CPU. -1 resolves them on connection loss only, which is when a changed address
	 * matters. */
	if (zoo_set_servers_resolution_delay(z->zh, -1) != ZOK)
		log_warnx("cannot turn off ZooKeeper's per-ping host name resolution");
	z->conn = ZKC_CONNECTING;
	log_info("connecting to ZooKeeper %s%s", z->cfg->zk_hosts,
		 z->have_cid ? " (resuming the session)" : "");
}

/* The supervisor kept our previous session: resume it if we are not yet connected. */
void zk_session_adopt(struct zk_ctx *z, const struct ipc_zk_session *s)
{
	if (!s->valid || s->client_id == 0)
		return;
	if (z->conn == ZKC_CONNECTED) {
		log_warnx("ignoring saved session 0x%llx: already connected",
			  (unsigned long long)s->client_id);
		return;
	}
	memset(&z->cid, 0, sizeof(z->cid));
	z->cid.client_id = s->client_id;
	memcpy(z->cid.passwd, s->passwd, sizeof(z->cid.passwd));
	z->have_cid = 1;
	z->resumed = 1;
	if (z->zh != NULL) {
		zk_session_close(z);
		zk_session_start(z);
	}
}

void zk_session_close(struct zk_ctx *z)
{
	zhandle_t *zh = z->zh;

	if (zh == NULL)
		return;
	z->closing = 1;
	if (z->fd >= 0) {
		ev_del_fd(z->loop, z->fd);
		z->fd = -1;
	}
	/* Pending completions run now with ZCLOSING; they see `closing`. */
	(void)zookeeper_close(zh);
	z->zh = NULL;
	z->closing = 0;
	z->conn = ZKC_DOWN;
	z->ping_inflight = 0;
}

int zk_session_init(struct zk_ctx *z)
{
	z->fd = -1;
	z->conn = ZKC_DOWN;
	zoo_set_debug_level(z->cfg->debug ? ZOO_LOG_LEVEL_INFO : ZOO_LOG_LEVEL_WARN);
	ev_set_prepare(z->loop, zk_prepare, z);
	/* Only a coordinator can be primary, the one use of the lease. Elsewhere the
	 * client's own ping (every T/3) keeps the session, at half the wake-ups. */
	if (!z->cfg->is_coordinator)
		return 0;
	z->ping_timer = ev_timer(z->loop, 500, zk_ping_timer, z);
	return z->ping_timer ? 0 : -1;
}
