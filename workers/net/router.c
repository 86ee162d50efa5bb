/*
 * router.c: the net-router worker. It owns every address that belongs to the
 * primary coordinator and acts only on zk-election's instructions (DESIGN.md §3):
 * TAKEOVER / RELINQUISH / LEASE / NETWORKS, each TAKEOVER and RELINQUISH answered
 * with NET_ACK once the kernel state matches. The work itself is in primary.c;
 * this file is the process: confinement, host networking, timers and IPC.
 *
 * Idle, nothing of ours wakes a secondary: the refresh tick and the GARP repeat
 * are armed only while primary, the HELLO retries end with the first instruction
 * (or after HELLO_TRIES), dnsmasq is watched through pidfds. A primary wakes every
 * NETP_REFRESH_MS to refresh the 1 s lifetimes (one RTM_NEWADDR per held address)
 * and publishes its status from that tick when something in it changed, else every
 * STATUS_REFRESH_MS (only the remaining lease moves on every tick, and a frame per
 * tick woke the supervisor four times a second for nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "log.h"
#include "net_client.h"
#include "net_dnsmasq.h"
#include "net_garp.h"
#include "net_host.h"
#include "net_lease.h"
#include "net_nft.h"
#include "net_primary.h"
#include "net_seccomp.h"
#include "netdef.h"
#include "worker.h"

#define HELLO_RETRY_MS 2000
#define HELLO_TRIES 15 /* zk-election answers once its session works; then it re-sends unasked */
#define STATUS_REFRESH_MS 10000

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
	uint64_t status_hash;   /* of the last status sent, lease_ms left out */
	/* client networks (issue #9) */
	struct netc nc;
	struct nftn nft;
	struct dnsm dm;
	struct netl lease;
	struct netdef *defs;    /* the last MSG_NET_NETWORKS, decoded */
	size_t ndefs;
	struct netdef *live;    /* shallow copies of the defs whose interfaces are up */
	size_t nlive;
	int nets_failed;        /* networks whose interfaces could not be built */
};


static uint64_t net_status_hash(const char (*k)[1200], int n, int skip)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	for (int i = 0; i < n; i++) {
		if (i == skip)
			continue;
		for (const char *p = k[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;
	}
	return h;
}

/* force: send even if only the remaining lease changed (instructions, stop) */
static void net_status_send(struct net_ctx *c, int force)
{
	static char k[8][1200];
	const char *v[8];
	uint64_t now = mono_ms();
	long long lease = 0;
	size_t used = 0;

	if (c->p.primary && c->p.lease_until_ms > now)
		lease = (long long)(c->p.lease_until_ms - now);
	snprintf(k[0], sizeof(k[0]), "networking=%s", c->enabled ? "enabled" : "disabled");
	snprintf(k[1], sizeof(k[1]), "primary=%d", c->p.primary);
	snprintf(k[2], sizeof(k[2]), "addresses=%zu", c->p.nheld);
	snprintf(k[3], sizeof(k[3]), "lease_ms=%lld", lease);
	snprintf(k[4], sizeof(k[4]), "last_error=%s", c->p.last_error);
	used = (size_t)snprintf(k[5], sizeof(k[5]), "networks=");
	for (size_t i = 0; i < c->nlive && used < sizeof(k[5]); i++)
		used += (size_t)snprintf(k[5] + used, sizeof(k[5]) - used, "%s%u", i ? "," : "",
					 c->live[i].vni);
	memcpy(k[6], "dnsmasq=", 9);
	net_dnsmasq_list(&c->dm, k[6] + 8, sizeof(k[6]) - 8);
	memcpy(k[7], "firewall=", 10);
	net_nft_list(&c->nft, k[7] + 9, sizeof(k[7]) - 9);
	uint64_t h = net_status_hash((const char (*)[1200])k, 8, 3);
	if (!force && h == c->status_hash && now - c->status_ms < STATUS_REFRESH_MS)
		return;
	for (int i = 0; i < 8; i++)
		v[i] = k[i];
	(void)worker_status(&c->w, v, 8);
	c->status_ms = now;
	c->status_hash = h;
}

static void net_status(struct net_ctx *c)
{
	net_status_send(c, 1);
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
	due = now + net_primary_next_tick_ms(now, 1, c->p.lease_until_ms);
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
	if (net_primary_tick(&c->p, now)) {
		/* no longer vouched for: nothing may keep serving as the primary */
		net_dnsmasq_stop_all(&c->dm);
		net_status(c);
		return;
	}
	net_status_send(c, 0);
	net_arm_tick(c);
}

static void net_garp_repeat(struct ev_loop *loop, void *arg)
{
	struct net_ctx *c = arg;

	c->garp_timer = 0;
	if (c->p.primary && net_primary_announce(&c->p) < 0)
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

	code = net_primary_takeover(&c->p, cmd->lease_until_ms, &primary, msg, sizeof(msg));
	/* dnsmasq binds to the gateways: only once they are in place */
	if (c->p.primary)
		net_dnsmasq_apply(&c->dm, c->live, c->nlive, 1);
	if (code == 0)
		log_ok("%s: %zu primary addresses up and announced, %zu dnsmasq running in %llu ms (epoch %llu)",
		       was ? "takeover repeated" : "took over", c->p.nheld, net_dnsmasq_running(&c->dm),
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
	size_t n = c->p.nheld, nd = net_dnsmasq_running(&c->dm);
	uint64_t t0 = mono_ms();
	int code;

	/* dnsmasq first: it must not answer for gateways that are going away */
	net_dnsmasq_stop_all(&c->dm);
	code = net_primary_relinquish(&c->p, msg, sizeof(msg));
	if (code == 0) {
		if (n || nd)
			log_ok("relinquished: %zu primary addresses removed, %zu dnsmasq stopped in %llu ms (epoch %llu)",
			       n, nd, (unsigned long long)(mono_ms() - t0),
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

static void net_skip(uint32_t vni, const char *why, void *arg)
{
	char *msg = arg;
	size_t used = strlen(msg);

	log_errx("network %u: definition refused: %s", vni, why);
	if (used + 4 < 256)
		snprintf(msg + used, 256 - used, "%snetwork %u: %s", used ? "; " : "", vni, why);
}

/* The gateways of the managed networks among `live`, each with its network's
 * prefix (ref §7.3). Returns how many were filled in. */
static size_t net_gateways(const struct netdef *live, size_t nlive, struct netp_net *gws)
{
	size_t ngw = 0;

	for (size_t i = 0; i < nlive && ngw < NETP_MAX_NETS; i++) {
		const struct netdef *d = &live[i];

		if (!d->managed)
			continue;
		memset(&gws[ngw], 0, sizeof(gws[ngw]));
		gws[ngw].vni = d->vni;
		if (d->gw4.set && d->net4.set) {
			gws[ngw].has4 = 1;
			gws[ngw].gw4.family = AF_INET;
			memcpy(gws[ngw].gw4.addr, d->gw4.addr, 4);
			gws[ngw].gw4.prefix = d->net4.prefix;
		}
		if (d->gw6.set && d->net6.set) {
			gws[ngw].has6 = 1;
			gws[ngw].gw6.family = AF_INET6;
			memcpy(gws[ngw].gw6.addr, d->gw6.addr, 16);
			gws[ngw].gw6.prefix = d->net6.prefix;
		}
		ngw++;
	}
	return ngw;
}

/* Decode MSG_NET_NETWORKS into *defs; refused entries are named in msg (256 bytes).
 * 0, or -1 (logged) when the list is to be ignored as a whole. */
static int net_decode_networks(struct ipc_msg *m, struct netdef **defs, size_t *n, char *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;

	if (ipc_strv_decode(m->data, m->hdr.len, &sv, &err) != 0) {
		log_warnx("ignoring malformed network list: %s", err ? err : "?");
		return -1;
	}
	if (netdef_decode(&sv, defs, n, net_skip, msg) != 0) {
		log_warnx("ignoring network list that is not a sequence of records");
		ipc_strv_free(&sv);
		return -1;
	}
	ipc_strv_free(&sv);
	return 0;
}

/* MSG_NET_NETWORKS: interfaces (every node), firewall (every node), gateways and
 * dnsmasq (primary), each converged to the new set. */
static void net_networks(struct net_ctx *c, struct ipc_msg *m)
{
	static struct netp_net gws[NETP_MAX_NETS];
	struct netdef *defs = NULL, *live;
	size_t n = 0, nlive = 0, ngw;
	char msg[256] = "";
	int *ok, code, refused;
	uint64_t t0 = mono_ms();

	if (net_decode_networks(m, &defs, &n, msg) != 0)
		return;
	refused = msg[0] ? EINVAL : 0;
	ok = calloc(n ? n : 1, sizeof(*ok));
	live = calloc(n ? n : 1, sizeof(*live));
	if (!ok || !live) {
		log_errx("network list: out of memory");
		free(ok);
		free(live);
		netdef_free_all(defs, n);
		return;
	}
	c->nets_failed = net_client_apply(&c->nc, defs, n, ok);
	for (size_t i = 0; i < n; i++)
		if (ok[i])
			live[nlive++] = defs[i];
	free(ok);
	ngw = net_gateways(live, nlive, gws);
	(void)net_nft_apply(&c->nft, live, nlive);
	code = net_primary_set_nets(&c->p, gws, ngw, refused, msg, sizeof(msg));
	net_dnsmasq_apply(&c->dm, live, nlive, c->p.primary);
	free(c->live);
	netdef_free_all(c->defs, c->ndefs);
	c->defs = defs;
	c->ndefs = n;
	c->live = live;
	c->nlive = nlive;
	if (code) {
		log_errx("network list: %s", msg);
		/* Refused parts are reported to zk-election (valid ones are in place)
		 * against the instruction in force; before any there is nothing to
		 * answer, and the next takeover's ack names them again. */
		if (c->instructed)
			net_ack(c, c->epoch, c->p.primary ? (int)c->p.nheld > 0 : 0, code, msg);
	}
	log_info("%zu client networks applied (%d failed%s), %zu dnsmasq running, in %llu ms",
		 nlive, c->nets_failed, refused ? ", some refused" : "", net_dnsmasq_running(&c->dm),
		 (unsigned long long)(mono_ms() - t0));
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
	if (m->hdr.type == MSG_NET_LEASE_REPLY) {
		struct ipc_strv sv;
		const char *err = NULL;

		if (ipc_strv_decode(m->data, m->hdr.len, &sv, &err) != 0) {
			log_warnx("ignoring malformed lease reply: %s", err ? err : "?");
			return;
		}
		net_lease_reply(&c->lease, &sv);
		ipc_strv_free(&sv);
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
		if (!net_primary_lease_plausible(mono_ms(), cmd.lease_until_ms)) {
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
	case MSG_NET_LEASE_REPLY:
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
	 * 2 s anyway, this makes it immediate. Client interfaces and firewall rules
	 * stay (VMs keep their layer 2); dnsmasq goes with the primary role. */
	if (c->enabled)
		net_dnsmasq_stop_all(&c->dm);
	if (c->enabled && c->p.nheld) {
		size_t n = c->p.nheld;
		if (net_primary_relinquish(&c->p, msg, sizeof(msg)) != 0)
			log_errx("shutdown: %s", msg);
		else
			log_info("shutdown: %zu primary addresses removed", n);
		net_arm_tick(c);
		net_status(c);
	}
	worker_shutdown_done(w, phase);
}

static void keep_existing(const char **v)
{
	size_t o = 0;

	for (size_t i = 0; v[i]; i++)
		if (access(v[i], F_OK) == 0)
			v[o++] = v[i];
	v[o] = NULL;
}

/* Before confinement: what the client networks need open or created as root. */
static int net_prepare_clients(struct net_ctx *c, uid_t uid, gid_t gid)
{
	char dir[300];
	const char *dyn = c->w.cfg.dynamic_directory;

	c->nc.nl = &c->p.nl;
	c->nc.cfg = &c->w.cfg;
	/* SIOCETHTOOL needs a socket; opening it now keeps socket() for dnsmasq only */
	c->nc.ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->nc.ioctl_fd < 0)
		log_warnx("no socket for SIOCETHTOOL (%s): tx offload stays on", strerror(errno));
	snprintf(dir, sizeof(dir), "%s/nft", dyn);
	if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
	    (snprintf(dir, sizeof(dir), "%s/nft/networks", dyn),
	     mkdir(dir, 0755) != 0 && errno != EEXIST) ||
	    chown(dir, uid, gid) != 0) {
		log_err("cannot prepare %s", dir);
		return -1;
	}
	if (net_nft_open(&c->nft, dyn) != 0)
		log_errx("client network firewall disabled");
	if (net_dnsmasq_files_init(&c->dm, c->w.loop, &c->w.cfg, c->w.cfg.worker_user[0] ? c->w.cfg.worker_user : NULL) != 0)
		return -1;
	if (net_lease_open(&c->lease, c->dm.sock, uid, gid) != 0)
		return -1;
	return 0;
}

/* Landlock: /proc/sys/net (sysctls); our dnsmasq, log and firewall files.
 * dnsmasq inherits the domain: it reads /etc (resolv.conf, passwd), locale
 * data, and opens /dev/null read-write; it executes the lease helper (for
 * "init" through /bin/sh). The directories are filled in by net_open(). */
static char helper_dir[300], dm_dir[300], log_dir[300], nft_dir[300];
static const char *net_rw[] = {"/proc/sys/net", dm_dir, log_dir, nft_dir, "/dev/null", NULL};
static const char *net_ro[] = {"/etc", "/dev/urandom", "/usr/share/locale", "/proc", NULL};
static const char *net_rx[] = {DNSM_EXE, "/bin/sh", "/usr/lib", "/lib", "/lib64", helper_dir,
			       NULL};

/* Networking enabled: sockets, users and directories, before confinement. 0, or
 * -1 (logged) for a permanent failure. */
static int net_open(struct net_ctx *c, const char *user)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	char *slash;
	int rc;

	/* Sockets are opened before confinement; rtnetlink still checks
	 * CAP_NET_ADMIN on every request. */
	rc = net_primary_open(&c->p, &c->w.cfg);
	if (rc != 0) {
		log_errx("cannot open rtnetlink/packet sockets: %s", strerror(-rc));
		return -1;
	}
	pw = user ? getpwnam(user) : NULL;
	if (user && !pw) {
		log_errx("unknown user %s", user);
		return -1;
	}
	uid = pw ? pw->pw_uid : getuid();
	gid = pw ? pw->pw_gid : getgid();
	if (net_prepare_clients(c, uid, gid) != 0)
		return -1;
	snprintf(helper_dir, sizeof(helper_dir), "%s", c->dm.helper);
	slash = strrchr(helper_dir, '/');
	if (slash && slash != helper_dir)
		*slash = '\0';
	snprintf(dm_dir, sizeof(dm_dir), "%s", c->dm.dir);
	snprintf(log_dir, sizeof(log_dir), "%s", c->dm.logdir);
	snprintf(nft_dir, sizeof(nft_dir), "%s/nft/networks", c->w.cfg.dynamic_directory);
	return 0;
}

/* The sandbox: what dnsmasq needs when networking is enabled, next to nothing
 * when it is not. */
static void net_spec(struct sandbox_spec *spec, int enabled, const char *user)
{
	memset(spec, 0, sizeof(*spec));
	/* CAP_NET_BIND_SERVICE is not used by net-router itself: dnsmasq binds
	 * ports 53/67/547 and inherits it as an ambient capability, like
	 * CAP_NET_ADMIN (ARP injection, interface queries) and CAP_NET_RAW
	 * (ICMP ping checks before offering an address). */
	spec->keep_caps = (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW) |
			  (1ULL << CAP_NET_BIND_SERVICE);
	spec->ambient_caps = spec->keep_caps;
	spec->allow_fork = 1;
	spec->rw_paths = net_rw;
	spec->ro_paths = net_ro;
	spec->rx_paths = net_rx;
	spec->seccomp_rules = net_seccomp_rules;
	spec->user = user;
	if (!enabled) {
		/* nothing to run, nothing to write but sysctls */
		spec->ambient_caps = 0;
		spec->keep_caps &= ~(1ULL << CAP_NET_BIND_SERVICE);
		spec->allow_fork = 0;
		net_rw[1] = NULL;
		spec->ro_paths = NULL;
		spec->rx_paths = NULL;
	}
	/* The supervisor must have kept it for us (supervisor/priv.c); without it
	 * dnsmasq cannot bind 53/67, but the rest of networking still works. */
	if (prctl(PR_CAPBSET_READ, CAP_NET_BIND_SERVICE, 0, 0, 0) != 1 &&
	    (spec->keep_caps & (1ULL << CAP_NET_BIND_SERVICE))) {
		log_errx("CAP_NET_BIND_SERVICE is not in the bounding set: dnsmasq will not be able to bind its ports");
		spec->keep_caps &= ~(1ULL << CAP_NET_BIND_SERVICE);
		spec->ambient_caps &= ~(1ULL << CAP_NET_BIND_SERVICE);
	}
	/* Landlock refuses a rule for a path that does not exist: keep those that do
	 * (/lib64 or the locale directory are absent on some systems). */
	keep_existing(net_rw);
	keep_existing(net_ro);
	keep_existing(net_rx);
}

/* Confined, networking enabled: host networking, reconciliation, then the loop. */
static int net_run(struct net_ctx *c)
{
	char err[256];
	int rc;

	rc = net_host_setup(&c->p.nl, &c->w.cfg, err, sizeof(err));
	if (rc)
		snprintf(c->p.last_error, sizeof(c->p.last_error), "host networking: %.200s", err);
	else
		log_ok("host networking configured");
	/* addresses present iff primary: until zk-election says so, we are not */
	rc = net_primary_reconcile(&c->p);
	if (rc < 0)
		log_warnx("cannot list addresses for reconciliation: %s", strerror(-rc));
	if (net_lease_start(&c->lease, &c->w) != 0)
		log_errx("lease socket not watched: DHCP leases will not reach ZooKeeper");
	worker_ready(&c->w);
	net_status(c);
	/* only a coordinator can be primary: zk-election answers nobody else */
	if (c->w.cfg.is_coordinator)
		net_hello(c->w.loop, c);
	rc = worker_run(&c->w);
	net_dnsmasq_stop_all(&c->dm);
	net_lease_close(&c->lease);
	net_nft_close(&c->nft);
	netdef_free_all(c->defs, c->ndefs);
	free(c->live);
	net_primary_close(&c->p);
	return rc;
}

int net_router_main(void)
{
	static struct net_ctx c;
	struct sandbox_spec spec;
	const char *user;

	worker_start(&c.w, ROLE_NET, net_dispatch, net_shutdown, &c);
	c.enabled = c.w.cfg.enable_networking;
	user = c.w.cfg.worker_user[0] ? c.w.cfg.worker_user : NULL;
	c.p.pkt = -1;
	c.p.nl.fd = -1;
	c.nc.ioctl_fd = -1;
	c.lease.lfd = -1;
	if (c.enabled && net_open(&c, user) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	net_spec(&spec, c.enabled, user);
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	if (!c.enabled) {
		log_info("networking is disabled (pvc.functions.enable_networking): net-router idle");
		worker_ready(&c.w);
		net_status(&c);
		return worker_run(&c.w);
	}
	return net_run(&c);
}
