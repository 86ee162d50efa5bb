/*
 * net_router.c: the net-router worker. It owns every address that belongs to the
 * primary coordinator and acts only on zk-election's instructions (DESIGN.md §3):
 * TAKEOVER / RELINQUISH / LEASE / NETWORKS, each TAKEOVER and RELINQUISH answered
 * with NET_ACK once the kernel state matches. The work itself is in net_primary.c;
 * this file is the process: confinement, host networking, timers and IPC.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include <linux/capability.h>

#include "log.h"
#include "net_garp.h"
#include "net_host.h"
#include "net_primary.h"
#include "worker.h"

#define HELLO_RETRY_MS 2000
#define HELLO_TRIES 15 /* zk-election answers once its session works; then it re-sends unasked */
#define STATUS_EVERY_MS 1000

struct net_ctx {
	struct worker w;
	struct netp p;
	int enabled;
	int instructed;         /* an instruction arrived since start */
	int hellos;             /* HELLOs sent without an instruction in reply */
	uint64_t epoch;         /* of the last TAKEOVER/RELINQUISH */
	uint64_t tick_timer, garp_timer, hello_timer;
	uint64_t tick_due;      /* mono_ms() at which tick_timer fires */
	uint64_t status_ms;
};

int net_router_seccomp_rules(void *scmp_ctx);

static void net_status(struct net_ctx *c)
{
	char k[5][300];
	const char *v[5];
	uint64_t now = mono_ms();
	long long lease = 0;

	if (c->p.primary && c->p.lease_until_ms > now)
		lease = (long long)(c->p.lease_until_ms - now);
	snprintf(k[0], sizeof(k[0]), "networking=%s", c->enabled ? "enabled" : "disabled");
	snprintf(k[1], sizeof(k[1]), "primary=%d", c->p.primary);
	snprintf(k[2], sizeof(k[2]), "addresses=%zu", c->p.nheld);
	snprintf(k[3], sizeof(k[3]), "lease_ms=%lld", lease);
	snprintf(k[4], sizeof(k[4]), "last_error=%s", c->p.last_error);
	for (int i = 0; i < 5; i++)
		v[i] = k[i];
	(void)worker_status(&c->w, v, 5);
	c->status_ms = now;
}

static void net_ack(struct net_ctx *c, uint64_t epoch, int primary, int error, const char *msg)
{
	struct ipc_net_ack ack;

	memset(&ack, 0, sizeof(ack));
	ack.epoch = epoch;
	ack.primary = primary;
	ack.error = error;
	snprintf(ack.msg, sizeof(ack.msg), "%s", msg ? msg : "");
	(void)worker_send(&c->w, MSG_NET_ACK, ROLE_ZK, &ack, sizeof(ack));
}

static void net_tick(struct ev_loop *loop, void *arg);

/* (Re)arm the refresh tick. An armed tick is only ever moved earlier: LEASE frames
 * arrive more often than the refresh period and must not keep postponing it. */
static void net_arm_tick(struct net_ctx *c)
{
	uint64_t now = mono_ms(), due;

	if (!c->p.primary) {
		if (c->tick_timer)
			ev_timer_cancel(c->w.loop, c->tick_timer);
		c->tick_timer = 0;
		return;
	}
	due = now + netp_next_tick_ms(now, 1, c->p.lease_until_ms);
	if (c->tick_timer && c->tick_due <= due)
		return;
	if (c->tick_timer)
		ev_timer_cancel(c->w.loop, c->tick_timer);
	c->tick_due = due;
	c->tick_timer = ev_timer(c->w.loop, due - now, net_tick, c);
	if (c->tick_timer == 0)
		log_errx("cannot arm the refresh timer: primary addresses will lapse");
}

static void net_tick(struct ev_loop *loop, void *arg)
{
	struct net_ctx *c = arg;
	uint64_t now = mono_ms();

	c->tick_timer = 0;
	if (netp_tick(&c->p, now)) {
		net_status(c);
		return;
	}
	if (now - c->status_ms >= STATUS_EVERY_MS)
		net_status(c);
	net_arm_tick(c);
}

static void net_garp_repeat(struct ev_loop *loop, void *arg)
{
	struct net_ctx *c = arg;

	c->garp_timer = 0;
	if (c->p.primary && netp_announce(&c->p) < 0)
		log_warnx("repeated announcement failed: %s", c->p.last_error);
}

static void net_hello(struct ev_loop *loop, void *arg)
{
	struct net_ctx *c = arg;

	c->hello_timer = 0;
	if (c->instructed || c->hellos >= HELLO_TRIES)
		return;
	c->hellos++;
	(void)worker_send(&c->w, MSG_NET_HELLO, ROLE_ZK, NULL, 0);
	c->hello_timer = ev_timer(c->w.loop, HELLO_RETRY_MS, net_hello, c);
}

static void net_takeover(struct net_ctx *c, const struct ipc_net_cmd *cmd)
{
	char msg[256];
	int primary = 0, was = c->p.primary, code;
	uint64_t t0 = mono_ms();

	code = netp_takeover(&c->p, cmd->lease_until_ms, &primary, msg, sizeof(msg));
	if (code == 0)
		log_ok("%s: %zu primary addresses up and announced in %llu ms (epoch %llu)",
		       was ? "takeover repeated" : "took over", c->p.nheld,
		       (unsigned long long)(mono_ms() - t0), (unsigned long long)cmd->epoch);
	else
		log_errx("takeover (epoch %llu): %s", (unsigned long long)cmd->epoch, msg);
	net_ack(c, cmd->epoch, primary, code, msg);
	if (c->p.primary && !was) {
		if (c->garp_timer)
			ev_timer_cancel(c->w.loop, c->garp_timer);
		c->garp_timer = ev_timer(c->w.loop, GARP_REPEAT_MS, net_garp_repeat, c);
	}
	net_arm_tick(c);
	net_status(c);
}

static void net_relinquish(struct net_ctx *c, const struct ipc_net_cmd *cmd)
{
	char msg[256];
	size_t n = c->p.nheld;
	int code = netp_relinquish(&c->p, msg, sizeof(msg));

	if (code == 0) {
		if (n)
			log_ok("relinquished: %zu primary addresses removed (epoch %llu)", n,
			       (unsigned long long)cmd->epoch);
	} else {
		log_errx("relinquish (epoch %llu): %s", (unsigned long long)cmd->epoch, msg);
	}
	net_ack(c, cmd->epoch, 0, code, msg);
	if (c->garp_timer)
		ev_timer_cancel(c->w.loop, c->garp_timer);
	c->garp_timer = 0;
	net_arm_tick(c);
	net_status(c);
}

static void net_networks(struct net_ctx *c, struct ipc_msg *m)
{
	struct ipc_strv sv;
	const char *err = NULL;
	char msg[256];
	int code;

	if (ipc_strv_decode(m->data, m->hdr.len, &sv, &err) != 0) {
		log_warnx("ignoring malformed network list: %s", err ? err : "?");
		return;
	}
	code = netp_set_networks(&c->p, (const char *const *)sv.v, sv.n, msg, sizeof(msg));
	if (code) {
		log_errx("network list: %s", msg);
		/* Refused parts are reported to zk-election (valid ones are in place)
		 * against the instruction in force; before any there is nothing to
		 * answer, and the next takeover's ack names them again. */
		if (c->instructed)
			net_ack(c, c->epoch, c->p.primary ? (int)c->p.nheld > 0 : 0, code, msg);
	}
	log_debug("%u managed networks known, %zu primary addresses held", sv.n, c->p.nheld);
	ipc_strv_free(&sv);
	net_status(c);
}

static void net_dispatch_zk(struct net_ctx *c, struct ipc_msg *m)
{
	struct ipc_net_cmd cmd;

	if (m->hdr.type == MSG_NET_NETWORKS) {
		if (c->enabled)
			net_networks(c, m);
		return;
	}
	if (m->hdr.len != sizeof(cmd)) {
		log_warnx("ignoring %s of %u bytes", ipc_type_name(m->hdr.type), m->hdr.len);
		return;
	}
	memcpy(&cmd, m->data, sizeof(cmd));
	if (!c->enabled) {
		if (m->hdr.type != MSG_NET_LEASE)
			net_ack(c, cmd.epoch, 0, ENOTSUP, "networking is disabled on this node");
		return;
	}
	switch (m->hdr.type) {
	case MSG_NET_TAKEOVER:
		c->instructed = 1;
		c->epoch = cmd.epoch;
		net_takeover(c, &cmd);
		break;
	case MSG_NET_RELINQUISH:
		c->instructed = 1;
		c->epoch = cmd.epoch;
		net_relinquish(c, &cmd);
		break;
	case MSG_NET_LEASE:
		if (!netp_lease_plausible(mono_ms(), cmd.lease_until_ms)) {
			log_warnx("ignoring implausible lease deadline %llu",
				  (unsigned long long)cmd.lease_until_ms);
			break;
		}
		c->p.lease_until_ms = cmd.lease_until_ms;
		net_arm_tick(c); /* a shorter lease must cut the next refresh short */
		break;
	default:
		break;
	}
}

static void net_dispatch(struct worker *w, struct ipc_msg *m)
{
	struct net_ctx *c = w->ctx;

	switch (m->hdr.type) {
	case MSG_NET_TAKEOVER:
	case MSG_NET_RELINQUISH:
	case MSG_NET_LEASE:
	case MSG_NET_NETWORKS:
		if (m->hdr.sender != ROLE_ZK) {
			log_warnx("ignoring %s from %s", ipc_type_name(m->hdr.type),
				  role_name(m->hdr.sender));
			return;
		}
		net_dispatch_zk(c, m);
		break;
	default:
		log_debug("ignoring %s from %s", ipc_type_name(m->hdr.type),
			  role_name(m->hdr.sender));
		break;
	}
}

static void net_shutdown(struct worker *w, uint32_t phase)
{
	struct net_ctx *c = w->ctx;
	char msg[256];

	/* No address may outlive the daemon that refreshes it; they would lapse within
	 * 2 s anyway, this makes it immediate. */
	if (c->enabled && c->p.nheld) {
		size_t n = c->p.nheld;
		if (netp_relinquish(&c->p, msg, sizeof(msg)) != 0)
			log_errx("shutdown: %s", msg);
		else
			log_info("shutdown: %zu primary addresses removed", n);
		net_arm_tick(c);
		net_status(c);
	}
	worker_shutdown_done(w, phase);
}

int net_router_seccomp_rules(void *scmp_ctx)
{
	/* /proc/sys/net writes at start-up (host networking): write-only opens, paths
	 * confined by Landlock to /proc/sys/net. */
	const struct scmp_arg_cmp wronly[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ,
			O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_EXCL | O_DIRECTORY | O_PATH,
			O_WRONLY),
	};
	int rc = seccomp_rule_add_array(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, wronly);

	if (rc != 0) {
		log_errx("net-router: seccomp rule openat: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

int net_router_main(void)
{
	static struct net_ctx c;
	static const char *const rw[] = {"/proc/sys/net", NULL};
	struct sandbox_spec spec = {
		.keep_caps = (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW),
		.allow_fork = 0,
		.rw_paths = rw,
		.seccomp_rules = net_router_seccomp_rules,
	};
	char err[256];
	int rc;

	worker_start(&c.w, ROLE_NET, net_dispatch, net_shutdown, &c);
	c.enabled = c.w.cfg.enable_networking;
	spec.user = c.w.cfg.worker_user[0] ? c.w.cfg.worker_user : NULL;
	c.p.pkt = -1;
	c.p.nl.fd = -1;
	if (c.enabled) {
		/* Sockets are opened before confinement, so the filter needs no socket()
		 * at all; rtnetlink still checks CAP_NET_ADMIN on every request. */
		rc = netp_open(&c.p, &c.w.cfg);
		if (rc != 0) {
			log_errx("cannot open rtnetlink/packet sockets: %s", strerror(-rc));
			return PVC_WORKER_EXIT_PERMANENT;
		}
	}
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	if (!c.enabled) {
		log_info("networking is disabled (pvc.functions.enable_networking): net-router idle");
		worker_ready(&c.w);
		net_status(&c);
		return worker_run(&c.w);
	}
	rc = net_host_setup(&c.p.nl, &c.w.cfg, err, sizeof(err));
	if (rc)
		snprintf(c.p.last_error, sizeof(c.p.last_error), "host networking: %.200s", err);
	else
		log_ok("host networking configured");
	/* addresses present iff primary: until zk-election says so, we are not */
	rc = netp_reconcile(&c.p);
	if (rc < 0)
		log_warnx("cannot list addresses for reconciliation: %s", strerror(-rc));
	worker_ready(&c.w);
	net_status(&c);
	/* only a coordinator can be primary: zk-election answers nobody else */
	if (c.w.cfg.is_coordinator)
		net_hello(c.w.loop, &c);
	rc = worker_run(&c.w);
	netp_close(&c.p);
	return rc;
}
