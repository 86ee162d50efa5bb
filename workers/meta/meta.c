/*
 * meta.c: the metadata worker (ROLE_META, pvc-metadata): the cloud-init metadata API
 * of the primary coordinator at http://169.254.169.254/ (docs/metadata.md).
 *
 * It serves only while zk-election says this node is primary (MSG_SVC_PRIMARY, after
 * net-router confirmed the floating addresses). On primary it asks the supervisor for
 * the listening socket (MSG_META_LISTEN_OPEN: port 80 needs a privilege this worker
 * does not have), starts a ZooKeeper scan at once (so that the first request finds
 * the map) and serves; on secondary it stops at once (the socket and every
 * connection closed, waiting requests answered 503) and forgets the map.
 *
 * The main thread owns the loop: the supervisor channel, zk-election's replies
 * (scan.c), the database connection (db.c) and the eventfd through which the HTTP
 * thread (http.c) asks for a scan or a user-data fetch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "meta.h"
#include "sandbox.h"
#include "worker.h"
#include "zkreq.h"

#define META_SCAN_DEADLINE_MS 3000 /* a scan not finished by then fails (503) */
/* the listening socket is asked for again after a failure, while primary */
#define META_LISTEN_RETRY_MIN_MS 200
#define META_LISTEN_RETRY_MAX_MS 5000

struct meta_ctx {
	struct worker *w;
	struct meta_cache cache;
	struct meta_http *http;
	struct meta_scan *scan;
	struct meta_db *db;
	struct ipc_zkreq_client zk;
	int primary, asked, evfd;
	uint64_t scan_deadline, period_timer;
	uint64_t listen_timer, listen_backoff_ms;
};

static void pump(struct meta_ctx *m);

static void status(struct meta_ctx *m)
{
	char s[4][64];
	const char *kv[4] = {s[0], s[1], s[2], s[3]};
	uint64_t req = 0, err = 0;
	size_t nvms;

	meta_http_counts(m->http, &req, &err);
	pthread_mutex_lock(&m->cache.mu);
	nvms = m->cache.nvms;
	pthread_mutex_unlock(&m->cache.mu);
	snprintf(s[0], sizeof(s[0]), "serving=%s", meta_http_running(m->http) ? "yes" : "no");
	snprintf(s[1], sizeof(s[1]), "clients=%zu", nvms);
	snprintf(s[2], sizeof(s[2]), "requests=%llu", (unsigned long long)req);
	snprintf(s[3], sizeof(s[3]), "errors=%llu", (unsigned long long)err);
	(void)worker_status(m->w, kv, 4);
}

static void scan_end(struct meta_ctx *m)
{
	if (m->scan_deadline)
		ev_timer_cancel(m->w->loop, m->scan_deadline);
	m->scan_deadline = 0;
	meta_http_resume_all(m->http);
	pump(m);
}

static void scan_done(void *arg, struct meta_vm *vms, size_t n, int failed)
{
	struct meta_ctx *m = arg;

	meta_cache_set_vms(&m->cache, vms, n, failed, m->cache.scan_start_ms);
	scan_end(m);
}

static void scan_deadline(struct ev_loop *loop, void *arg)
{
	struct meta_ctx *m = arg;

	m->scan_deadline = 0;
	log_warnx("metadata: ZooKeeper scan not finished in %d ms: unknown clients get 503",
		  META_SCAN_DEADLINE_MS);
	meta_scan_abort(m->scan);
	meta_cache_set_vms(&m->cache, NULL, 0, 1, 0);
	scan_end(m);
}

static void scan_start(struct meta_ctx *m)
{
	pthread_mutex_lock(&m->cache.mu);
	if (m->cache.scan_running || meta_scan_running(m->scan)) {
		pthread_mutex_unlock(&m->cache.mu);
		return;
	}
	m->cache.scan_running = 1;
	m->cache.scan_wanted = 0;
	m->cache.scan_start_ms = mono_ms();
	pthread_mutex_unlock(&m->cache.mu);
	if (meta_scan_start(m->scan) != 0) {
		meta_cache_set_vms(&m->cache, NULL, 0, 1, 0);
		meta_http_resume_all(m->http);
		return;
	}
	m->scan_deadline = ev_timer(m->w->loop, META_SCAN_DEADLINE_MS, scan_deadline, m);
}

static void db_done(void *arg, const char *profile, enum meta_ud_state st, const char *data,
		    size_t len)
{
	struct meta_ctx *m = arg;

	meta_cache_prof_done(&m->cache, profile, st, data, len, mono_ms());
	meta_http_resume_all(m->http);
	pump(m);
}

/* What waiting requests want: a scan, a profile's user-data (one fetch at a time). */
static void pump(struct meta_ctx *m)
{
	char prof[META_NAME_MAX];
	int want_scan, want_prof = 0;

	if (!m->primary)
		return;
	pthread_mutex_lock(&m->cache.mu);
	want_scan = m->cache.scan_wanted && !m->cache.scan_running;
	if (!meta_db_busy(m->db))
		want_prof = meta_cache_prof_next(&m->cache, prof, sizeof(prof));
	pthread_mutex_unlock(&m->cache.mu);
	if (want_scan)
		scan_start(m);
	if (want_prof)
		(void)meta_db_fetch(m->db, prof); /* may answer (and pump) at once */
}

static void wake(void *arg)
{
	struct meta_ctx *m = arg;
	uint64_t one = 1;

	/* from the HTTP thread: only the eventfd (a full counter still wakes the loop) */
	(void)!write(m->evfd, &one, sizeof(one));
}

static void on_wake(struct ev_loop *loop, int fd, short revents, void *arg)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warnx("metadata: eventfd: %s", strerror(errno));
	pump(arg);
}

static void period(struct ev_loop *loop, void *arg)
{
	struct meta_ctx *m = arg;

	m->period_timer = 0;
	if (!m->primary)
		return;
	scan_start(m);
	status(m);
	m->period_timer = ev_timer(loop, META_SCAN_PERIOD_MS, period, m);
}

static void listen_ask(struct meta_ctx *m);

static void listen_retry(struct ev_loop *loop, void *arg)
{
	struct meta_ctx *m = arg;

	m->listen_timer = 0;
	if (m->primary && !meta_http_running(m->http))
		listen_ask(m);
}

/* A primary that does not serve asks again, 200 ms doubling to 5 s: a failure of the
 * supervisor's socket or of MHD must not leave the metadata API down for a term. */
static void listen_later(struct meta_ctx *m)
{
	uint64_t next = m->listen_backoff_ms ? m->listen_backoff_ms * 2 : META_LISTEN_RETRY_MIN_MS;

	if (!m->primary || m->listen_timer)
		return;
	m->listen_backoff_ms = next > META_LISTEN_RETRY_MAX_MS ? META_LISTEN_RETRY_MAX_MS : next;
	m->listen_timer = ev_timer(m->w->loop, m->listen_backoff_ms, listen_retry, m);
	if (m->listen_timer == 0)
		log_errx("metadata: cannot arm the listening socket's retry timer: not serving");
	else
		log_warnx("metadata: asking for the listening socket again in %llu ms",
			  (unsigned long long)m->listen_backoff_ms);
}

static void listen_ask(struct meta_ctx *m)
{
	if (worker_send(m->w, MSG_META_LISTEN_OPEN, ROLE_SUPERVISOR, NULL, 0) != 0) {
		log_errx("metadata: cannot ask the supervisor for the listening socket");
		listen_later(m);
		return;
	}
	m->asked = 1;
}

static void set_primary(struct meta_ctx *m, int primary)
{
	if (primary == m->primary)
		return;
	m->primary = primary;
	if (primary) {
		log_info("metadata: primary: starting the metadata API at 169.254.169.254:80");
		scan_start(m);
		m->listen_backoff_ms = 0;
		listen_ask(m);
		m->period_timer = ev_timer(m->w->loop, META_SCAN_PERIOD_MS, period, m);
		return;
	}
	log_info("metadata: not primary: stopping the metadata API");
	meta_http_stop(m->http);
	if (m->listen_timer)
		ev_timer_cancel(m->w->loop, m->listen_timer);
	m->listen_timer = 0;
	if (m->period_timer)
		ev_timer_cancel(m->w->loop, m->period_timer);
	m->period_timer = 0;
	if (m->scan_deadline)
		ev_timer_cancel(m->w->loop, m->scan_deadline);
	m->scan_deadline = 0;
	meta_scan_abort(m->scan);
	/* a map of another term must not answer the next takeover's first requests */
	meta_cache_set_vms(&m->cache, NULL, 0, 0, 0);
	meta_db_close(m->db);
	status(m);
}

static void listen_fd(struct meta_ctx *m, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	long err = -1;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, NULL) == 0) {
		if (sv.n == 1)
			err = strtol(sv.v[0], NULL, 10);
		ipc_strv_free(&sv);
	}
	m->asked = 0;
	if (err != 0 || msg->fd < 0) {
		log_errx("metadata: no listening socket from the supervisor: %s",
			 err > 0 ? strerror((int)err) : "malformed answer");
		listen_later(m);
		return;
	}
	if (!m->primary || meta_http_running(m->http))
		return; /* relinquished meanwhile: the socket closes with msg */
	pthread_mutex_lock(&m->cache.mu);
	m->cache.serving = 1;
	pthread_mutex_unlock(&m->cache.mu);
	int fd = msg->fd;
	msg->fd = -1; /* MHD's now, or closed below: never closed twice */
	if (meta_http_start(m->http, fd) != 0) {
		log_errx("metadata: cannot start the HTTP server");
		pthread_mutex_lock(&m->cache.mu);
		m->cache.serving = 0;
		pthread_mutex_unlock(&m->cache.mu);
		/* whether a failed MHD_start_daemon() closed a socket given with
		 * MHD_OPTION_LISTEN_SOCKET depends on where it failed (its late error
		 * paths close it, its early ones do not); no other thread of this worker opens
		 * descriptors (the HTTP thread is not running), so one still open is ours */
		if (fcntl(fd, F_GETFD) != -1)
			(void)close(fd);
		listen_later(m);
		return;
	}
	m->listen_backoff_ms = 0;
	log_ok("metadata: serving http://169.254.169.254:80/");
	status(m);
}

static void dispatch(struct worker *w, struct ipc_msg *msg)
{
	struct meta_ctx *m = w->ctx;

	if (msg->hdr.sender == ROLE_ZK && msg->hdr.type == MSG_SVC_PRIMARY &&
	    msg->hdr.len == sizeof(struct ipc_svc_primary)) {
		struct ipc_svc_primary p;
		memcpy(&p, msg->data, sizeof(p));
		set_primary(m, p.primary != 0);
	} else if (msg->hdr.sender == ROLE_ZK && msg->hdr.type == MSG_ZK_REPLY) {
		if (ipc_zkreq_reply_msg(&m->zk, msg) < 0)
			log_warnx("metadata: malformed ZK_REPLY");
	} else if (msg->hdr.sender == ROLE_SUPERVISOR && msg->hdr.type == MSG_META_LISTEN_FD) {
		listen_fd(m, msg);
	} else {
		log_warnx("metadata: %s from %s ignored", ipc_type_name(msg->hdr.type),
			  role_name(msg->hdr.sender));
	}
}

static void shutdown_cb(struct worker *w, uint32_t phase)
{
	struct meta_ctx *m = w->ctx;

	set_primary(m, 0);
	worker_shutdown_done(w, phase);
}

static int zk_send(void *arg, uint32_t type, const char *const *v, uint32_t n)
{
	struct meta_ctx *m = arg;

	return worker_send_strv(m->w, type, ROLE_ZK, v, n);
}

static int meta_setup(struct meta_ctx *m)
{
	const struct ipc_zkreq_policy pol = {
		.reply_timeout_ms = 2000, .fresh_id = 1, .retry_min_ms = 20,
		.retry_max_ms = 500, .garbage_retries = 2, .max_inflight = 65536};
	char prefix[24];

	snprintf(prefix, sizeof(prefix), "m%06x.", (unsigned)(mono_ms() ^ (uint64_t)getpid()) & 0xffffffu);
	ipc_zkreq_init(&m->zk, m->w->loop, prefix, &pol, zk_send, m);
	m->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->evfd < 0 || meta_cache_init(&m->cache) != 0)
		return -1;
	m->http = meta_http_new(&m->cache, wake, m);
	m->scan = meta_scan_new(&m->zk, scan_done, m);
	m->db = meta_db_new(m->w->loop, &m->w->cfg.metadata_db, db_done, m);
	if (m->http == NULL || m->scan == NULL || m->db == NULL ||
	    ev_add_fd(m->w->loop, m->evfd, POLLIN, on_wake, m) != 0)
		return -1;
	return 0;
}

int metadata_main(void)
{
	static struct worker w;
	static struct meta_ctx m;
	/* libpq: name resolution of the database host, OpenSSL's configuration and CA
	 * certificates (sslmode prefer/require) */
	static const char *const ro[] = {SANDBOX_RESOLVER_FILES, "/etc/ssl", "/usr/lib/ssl",
					 "/usr/share/ca-certificates", NULL};
	struct sandbox_spec spec;

	worker_start(&w, ROLE_META, dispatch, shutdown_cb, &m);
	m.w = &w;
	if (meta_setup(&m) != 0) {
		log_err("metadata: setup");
		return PVC_WORKER_EXIT_PERMANENT;
	}
	memset(&spec, 0, sizeof(spec));
	spec.user = w.cfg.worker_user[0] ? w.cfg.worker_user : NULL;
	spec.ro_paths = ro;
	spec.seccomp_rules = meta_seccomp_rules;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	worker_ready(&w);
	status(&m);
	if (worker_send(&w, MSG_SVC_HELLO, ROLE_ZK, NULL, 0) != 0)
		log_errx("metadata: cannot greet zk-election");
	return worker_run(&w);
}
