/*
 * election.c: the zk-election worker: the node's only ZooKeeper client.
 * Registration and keepalive (keepalive.c), the primary election (elect.c,
 * lock.c), the session (session.c) and the relay/request API for the other
 * workers (relay.c). This file: start-up, confinement, per-peer dispatch,
 * shutdown phases and the status lines for pvcctl.
 */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sandbox.h"
#include "zk_internal.h"

#define ZK_START_DELAY_MS 50   /* let a saved session (MSG_ZK_SESSION) arrive first */
#define P1_BOUND_MS 4000       /* supervisor waits 5 s */
#define P2_BOUND_MS 9500       /* DESIGN: phase 2 within 10 s whatever happens */

int zk_election_seccomp_rules(void *scmp_ctx);

/* ---- status ------------------------------------------------------------------- */

static void zk_status(struct zk_ctx *z)
{
	char zk[32], sess[40], rs[40], ds[40], dom[40], prim[80], lock[24], lease[40];
	const char *kv[8];
	char all[512];
	uint64_t now = mono_ms();

	snprintf(zk, sizeof(zk), "zk=%s",
		 z->conn == ZKC_CONNECTED ? "connected" :
		 z->conn == ZKC_EXPIRED ? "expired" : "connecting");
	snprintf(sess, sizeof(sess), "session=0x%llx",
		 (unsigned long long)(z->have_cid ? z->cid.client_id : 0));
	snprintf(rs, sizeof(rs), "routerstate=%s", z->routerstate[0] ? z->routerstate : "unknown");
	snprintf(ds, sizeof(ds), "daemonstate=%s", z->daemonstate[0] ? z->daemonstate : "unknown");
	snprintf(dom, sizeof(dom), "domainstate=%s",
		 z->domainstate_known ? z->domainstate : "unknown");
	snprintf(prim, sizeof(prim), "primary=%s", z->primary[0] ? z->primary : "unknown");
	snprintf(lock, sizeof(lock), "lock=%s",
		 zk_lock_held(z) ? "held" : z->my_lock[0] ? "waiting" : "none");
	snprintf(all, sizeof(all), "%s %s %s %s %s %s %s", zk, sess, rs, ds, dom, prim, lock);
	/* lease_ms changes all the time: resend only on a state change or a tick */
	if (strcmp(all, z->status_last) == 0 && z->ka_timer != 0 && !z->phase)
		return;
	strlcpy_pvc(z->status_last, all, sizeof(z->status_last));
	snprintf(lease, sizeof(lease), "lease_ms=%lld",
		 z->lease_until > now ? (long long)(z->lease_until - now) : 0LL);
	kv[0] = zk;
	kv[1] = sess;
	kv[2] = rs;
	kv[3] = ds;
	kv[4] = dom;
	kv[5] = prim;
	kv[6] = lock;
	kv[7] = lease;
	(void)worker_status(z->w, kv, 8);
}

/* ---- upward calls of the lower files (zk_internal.h) ---------------------------- */

static void on_connected(struct zk_ctx *z, int new_session)
{
	zk_keepalive_connected(z, new_session);
	zk_elect_connected(z);
	zk_relay_connected(z);
	zk_networks_connected(z);
	zk_ceph_cmd_connected(z, new_session);
	zk_status(z);
}

/* path == "/nodes/<self>/<key>" */
static int is_own_key(const struct zk_ctx *z, const char *path, const char *key)
{
	size_t n = strlen(z->cfg->node_name);

	return strncmp(path, "/nodes/", 7) == 0 && strncmp(path + 7, z->cfg->node_name, n) == 0 &&
	       path[7 + n] == '/' && strcmp(path + 8 + n, key) == 0;
}

/* Every per-path watch of this worker: dispatch by path and type. */
static void on_watch(struct zk_ctx *z, int type, const char *path)
{
	if (strcmp(path, ZK_LOCK_PATH) == 0) {
		if (type == ZOO_CHILD_EVENT) {
			zk_lock_children_event(z);
		} else {
			zk_elect_primary_read(z);
			if (type == ZOO_CREATED_EVENT)
				zk_lock_children(z);
		}
		return;
	}
	if (strncmp(path, ZK_LOCK_PATH "/", sizeof(ZK_LOCK_PATH)) == 0) {
		zk_lock_contender_event(z, type, path + sizeof(ZK_LOCK_PATH));
		return;
	}
	if (is_own_key(z, path, "routerstate")) {
		zk_elect_rs_event(z);
		return;
	}
	if (is_own_key(z, path, "daemonstate")) {
		zk_keepalive_ds_event(z);
		return;
	}
	if (zk_interop_watch(z, path))
		return;
	if (zk_ceph_cmd_watch(z, path))
		return;
	zk_relay_watch(z, type, path);
}

static const struct zk_hooks zk_hooks = {
	.connected = on_connected,
	.session_lost = zk_elect_session_lost,
	.lease_lapsed = zk_elect_lease_lapsed,
	.lease_renewed = zk_elect_lease_renewed,
	.lease_wanted = zk_elect_lease_wanted,
	.watch = on_watch,
	.status = zk_status,
	.lock_changed = zk_elect_lock_changed,
	.evaluate = zk_elect_evaluate,
	.tick = zk_elect_tick,
	.keepalive_committed = zk_fence_keepalive_committed,
	.vm_hello = zk_fence_vm_hello,
	.defer_sync = zk_fence_defer_sync,
};

/* ---- dispatch per peer ---------------------------------------------------------- */

static void zk_dispatch_supervisor(struct zk_ctx *z, struct ipc_msg *msg)
{
	struct ipc_zk_session s;

	switch (msg->hdr.type) {
	case MSG_ZK_SESSION:
		memcpy(&s, msg->data, sizeof(s));
		zk_session_adopt(z, &s);
		explicit_bzero(&s, sizeof(s));
		break;
	default:
		log_warnx("unexpected %s from the supervisor", ipc_type_name(msg->hdr.type));
	}
}

static void zk_dispatch_net(struct zk_ctx *z, struct ipc_msg *msg)
{
	struct ipc_net_ack ack;

	switch (msg->hdr.type) {
	case MSG_NET_ACK:
		memcpy(&ack, msg->data, sizeof(ack));
		zk_elect_net_ack(z, &ack);
		break;
	case MSG_NET_HELLO:
		zk_networks_hello(z); /* every networking node builds the client networks */
		zk_elect_net_hello(z);
		break;
	case MSG_NET_LEASE_EVENT:
		zk_net_lease_event(z, msg);
		break;
	default:
		log_warnx("unexpected %s from net-router", ipc_type_name(msg->hdr.type));
	}
}

static void zk_dispatch_vm(struct zk_ctx *z, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;

	switch (msg->hdr.type) {
	case MSG_VM_HELLO:
		zk_relay_vm_sync(z);
		break;
	case MSG_VM_STATS:
		if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
			log_warnx("malformed VM statistics: %s", err ? err : "?");
			break;
		}
		zk_keepalive_vm_stats(z, &sv);
		ipc_strv_free(&sv);
		break;
	case MSG_ZK_GET:
	case MSG_ZK_CHILDREN:
	case MSG_ZK_WRITE:
		zk_relay_request(z, msg);
		break;
	default:
		log_warnx("unexpected %s from vm-manager", ipc_type_name(msg->hdr.type));
	}
}

static void zk_dispatch_flush(struct zk_ctx *z, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case MSG_FLUSH_HELLO:
		zk_relay_flush_domainstate(z);
		break;
	case MSG_ZK_GET:
	case MSG_ZK_CHILDREN:
	case MSG_ZK_WRITE:
		zk_relay_request(z, msg);
		break;
	default:
		log_warnx("unexpected %s from flush", ipc_type_name(msg->hdr.type));
	}
}

static void zk_dispatch_ctl(struct zk_ctx *z, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case MSG_ZK_GET:
	case MSG_ZK_CHILDREN:
	case MSG_ZK_WRITE:
		zk_relay_request(z, msg);
		break;
	default:
		log_warnx("unexpected %s from pvcctl", ipc_type_name(msg->hdr.type));
	}
}

/* api-units, dns-aggregator, metadata, ceph */
static void zk_dispatch_service(struct zk_ctx *z, struct ipc_msg *msg)
{
	enum pvc_role from = (enum pvc_role)msg->hdr.sender;

	switch (msg->hdr.type) {
	case MSG_SVC_HELLO:
		zk_svc_hello(z, from);
		break;
	case MSG_CEPH_RESULT:
		if (from == ROLE_CEPH)
			zk_ceph_cmd_result(z, msg);
		break;
	case MSG_ZK_GET:
	case MSG_ZK_CHILDREN:
	case MSG_ZK_WRITE:
		zk_relay_request(z, msg);
		break;
	default:
		log_warnx("unexpected %s from %s", ipc_type_name(msg->hdr.type), role_name(from));
	}
}

static void zk_dispatch(struct worker *w, struct ipc_msg *msg)
{
	struct zk_ctx *z = w->ctx;

	switch (msg->hdr.sender) {
	case ROLE_SUPERVISOR:
		zk_dispatch_supervisor(z, msg);
		break;
	case ROLE_NET:
		zk_dispatch_net(z, msg);
		break;
	case ROLE_VM:
		zk_dispatch_vm(z, msg);
		break;
	case ROLE_FLUSH:
		zk_dispatch_flush(z, msg);
		break;
	case ROLE_CTL:
		zk_dispatch_ctl(z, msg);
		break;
	case ROLE_FENCE:
		zk_fence_dispatch(z, msg);
		break;
	case ROLE_API:
	case ROLE_DNS:
	case ROLE_META:
	case ROLE_CEPH:
		zk_dispatch_service(z, msg);
		break;
	default:
		log_warnx("frame %s from unexpected sender %u", ipc_type_name(msg->hdr.type),
			  (unsigned)msg->hdr.sender);
	}
}

/* ---- shutdown ------------------------------------------------------------------- */

static void p1_done(struct zk_ctx *z, int rc)
{
	if (z->phase != 1)
		return;
	if (z->p2_deadline_timer) {
		ev_timer_cancel(z->loop, z->p2_deadline_timer);
		z->p2_deadline_timer = 0;
	}
	worker_shutdown_done(z->w, 1);
}

static void p1_timeout(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	z->p2_deadline_timer = 0;
	log_warnx("daemon state `shutdown` not confirmed in time");
	p1_done(z, ZOPERATIONTIMEOUT);
}

static void p2_finish(struct zk_ctx *z)
{
	if (z->p2_deadline_timer) {
		ev_timer_cancel(z->loop, z->p2_deadline_timer);
		z->p2_deadline_timer = 0;
	}
	zk_session_close(z);
	zk_status(z);
	log_info("ZooKeeper session closed");
	worker_shutdown_done(z->w, 2);
	z->phase = 3;
}

static void p2_final_done(struct zk_ctx *z, int rc)
{
	if (z->phase == 2)
		p2_finish(z);
}

static void p2_released(struct zk_ctx *z)
{
	if (z->phase != 2)
		return;
	zk_keepalive_final(z, p2_final_done);
}

static void p2_timeout(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	z->p2_deadline_timer = 0;
	if (z->phase != 2)
		return;
	log_warnx("shutdown phase 2 bounded at %d ms: closing the session now", P2_BOUND_MS);
	p2_finish(z);
}

static void zk_shutdown(struct worker *w, uint32_t phase)
{
	struct zk_ctx *z = w->ctx;

	if (phase == 1 && z->phase == 0) {
		z->phase = 1;
		if (!zk_session_usable(z) || !z->registered) {
			log_warnx("not connected: daemon state `shutdown` not written");
			worker_shutdown_done(w, 1);
			return;
		}
		z->p2_deadline_timer = ev_timer(z->loop, P1_BOUND_MS, p1_timeout, z);
		zk_keepalive_set_daemonstate(z, "shutdown", p1_done);
		return;
	}
	if (phase == 2 && z->phase < 2) {
		z->phase = 2;
		if (z->p2_deadline_timer)
			ev_timer_cancel(z->loop, z->p2_deadline_timer);
		z->p2_deadline_timer = ev_timer(z->loop, P2_BOUND_MS, p2_timeout, z);
		zk_elect_shutdown(z, p2_released);
		return;
	}
	worker_shutdown_done(w, phase);
}

/* ---- confinement ---------------------------------------------------------------- */

/* Beyond the common set: the client library's start-up and name resolution. */
static const struct sandbox_sys zk_extra_syscalls[] = {
	SANDBOX_SYS(uname),
	SANDBOX_SYS(gettimeofday),
	SANDBOX_SYS(getdents64),
	SANDBOX_SYS(faccessat),
	SANDBOX_SYS(access),
	SANDBOX_SYS(readlink),
	SANDBOX_SYS(readlinkat), /* getpwuid() through nss-systemd for a real role user */
	SANDBOX_SYS(getcwd), /* the client logs its environment at init */
	SANDBOX_SYS_END,
};

int zk_election_seccomp_rules(void *scmp_ctx)
{
	/* TCP to ZooKeeper (new sockets on every reconnect) and name resolution of the
	 * connect string (files + DNS): IPv4/IPv6 sockets only, never netlink/packet
	 * (sandbox_rules_tcp_client); /proc/meminfo and /proc/loadavg read-only. */
	if (sandbox_rules_tcp_client(scmp_ctx) != 0)
		return -1;
	if (sandbox_allow_list(scmp_ctx, zk_extra_syscalls) != 0)
		return -1;
	return sandbox_rules_files_ro(scmp_ctx);
}

static void zk_start_timer(struct ev_loop *loop, void *arg)
{
	zk_session_start(arg);
}

int zk_election_main(void)
{
	static struct worker w;   /* one per process; lives as long as the loop */
	static struct zk_ctx z;
	/* /etc only for resolving the ZooKeeper host names */
	static const char *const ro[] = {"/proc/meminfo", "/proc/loadavg", SANDBOX_RESOLVER_FILES,
					 "/usr/lib", "/lib", "/lib64", NULL};
	struct sandbox_spec spec;
	int rc;

	worker_start(&w, ROLE_ZK, zk_dispatch, zk_shutdown, &z);
	z.hooks = &zk_hooks;
	z.w = &w;
	z.cfg = &w.cfg;
	z.loop = w.loop;
	z.net_want = -1;
	z.net_have = -1;
	zk_svc_init(&z);
	if (!w.cfg.node_name[0] || !zk_values_node_name(w.cfg.node_name) || !w.cfg.zk_hosts[0]) {
		log_errx("zk-election: no valid node name or ZooKeeper hosts in the configuration");
		return PVC_WORKER_EXIT_PERMANENT;
	}
	zk_keepalive_static(&z);
	memset(&spec, 0, sizeof(spec));
	spec.user = w.cfg.worker_user[0] ? w.cfg.worker_user : NULL;
	spec.ro_paths = ro;
	spec.seccomp_rules = zk_election_seccomp_rules;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	if (zk_session_init(&z) != 0 || zk_fence_init(&z) != 0 || zk_networks_init(&z) != 0 ||
	    zk_ceph_cmd_init(&z) != 0) {
		log_errx("zk-election: out of memory");
		return PVC_EXIT_FATAL;
	}
	worker_ready(&w);
	z.start_pending = 1;
	if (ev_timer(w.loop, ZK_START_DELAY_MS, zk_start_timer, &z) == 0)
		zk_session_start(&z);
	zk_status(&z);
	rc = worker_run(&w);
	/* The supervisor is gone (or the loop failed) without a shutdown: do not close
	 * the session. Closing would delete our contender at once while a primary
	 * address may live on for its lifetime; expiry after T is what the lease and
	 * the takeover delay are computed for. */
	return rc;
}
