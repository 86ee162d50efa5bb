/*
 * zk_internal.h: the zk-election worker's context, shared by the files of workers/zk only.
 *
 * Everything runs on the worker's single thread: ZooKeeper completions and watches
 * are called from zookeeper_process() inside the poll loop, IPC frames from the
 * worker runtime. Nothing ever blocks.
 *
 * The files call each other in one direction only (see the order of the sections
 * below: a file calls the ones listed before it). Where a lower file must tell a
 * higher one about an event (the session connected, a watch fired, our contender
 * changed, a keepalive committed), it calls through struct zk_hooks, which
 * election.c, the role's entry, fills in before anything runs.
 */
#ifndef ZK_INTERNAL_H
#define ZK_INTERNAL_H

#include <stdint.h>
#include <zookeeper.h>

#include "worker.h"
#include "zk_values.h"

#define ZK_NAME 64
#define ZK_MAX_CONTENDERS 128
#define ZK_LOCK_PATH "/primary_node"
/* Address lifetime of net-router (DESIGN §3): the lease ends L + 1 s + 500 ms
 * before the earliest moment the server may expire the session. */
#define ZK_ADDR_LIFETIME_MS 1000
#define ZK_LEASE_MARGIN_MS (ZK_ADDR_LIFETIME_MS + 1000 + 500)

enum zk_conn { ZKC_DOWN, ZKC_CONNECTING, ZKC_CONNECTED, ZKC_EXPIRED };

struct zk_contender {
	char name[ZK_NAME];
	uint32_t seq;
	char owner[ZK_NAME]; /* node name from the data; "" until read or if garbage */
	int64_t eph;         /* ephemeralOwner */
	int known;           /* data read */
};

struct zk_domain {
	char uuid[37];
	char *name, *state, *node, *lastnode;
	int32_t version;
	int pending; /* reads outstanding for the current firing */
	int valid;   /* has been sent at least once */
	int settled;   /* first read finished (valid or not): counts for the initial sync */
};

struct zk_ctx;
struct zk_multi;

/* interop.c: another coordinator's routerstate/daemonstate (mixed clusters) */
struct zk_peer {
	struct zk_ctx *z;
	char name[CFG_NAME_MAX];
	char rs[16], ds[16];
	int rs_known, ds_known;
};

/* Upward calls (see above). Every member is set; lower files call them unguarded. */
struct zk_hooks {
	/* session.c */
	void (*connected)(struct zk_ctx *z, int new_session); /* after the lease ping is sent */
	void (*session_lost)(struct zk_ctx *z);  /* a new or expired session: no lock held */
	void (*lease_lapsed)(struct zk_ctx *z);
	void (*lease_renewed)(struct zk_ctx *z);
	/* 1 while the node is, or may become, primary: only then does it ping for a lease */
	int (*lease_wanted)(const struct zk_ctx *z);
	void (*watch)(struct zk_ctx *z, int type, const char *path); /* every per-path watch */
	/* anybody: something shown by pvcctl may have changed */
	void (*status)(struct zk_ctx *z);
	/* lock.c: the contender list or our own contender changed */
	void (*lock_changed)(struct zk_ctx *z, int owner_vanished);
	/* keepalive.c */
	void (*evaluate)(struct zk_ctx *z); /* an input of the election changed */
	void (*tick)(struct zk_ctx *z);     /* once per keepalive interval */
	void (*keepalive_committed)(struct zk_ctx *z, uint64_t sent_ms);
	/* relay.c: the self-fencing clock and the gate of VM SYNC_DONE (fence.c) */
	void (*vm_hello)(struct zk_ctx *z);
	int (*defer_sync)(struct zk_ctx *z); /* 1: answer later (a retry is armed) */
};

struct zk_ctx {
	const struct zk_hooks *hooks;
	struct worker *w;
	struct pvc_config *cfg;
	struct ev_loop *loop;

	/* ---- session (session.c) ---- */
	zhandle_t *zh;
	enum zk_conn conn;
	int closing;
	clientid_t cid;       /* the session we hold or want to resume */
	int have_cid;
	int resumed;          /* this process resumed a session of a previous zk-election */
	int connected_once;   /* this process has been connected (log wording only) */
	int fd;
	int T;                /* negotiated session timeout, ms */
	uint64_t t_ok;        /* send time of the last answered request (ping) */
	uint64_t lease_until; /* 0: no lease */
	uint64_t ping_timer, lease_timer, restart_timer;
	int ping_inflight;
	uint64_t ping_sent;
	int start_pending;    /* zookeeper_init not yet called */

	/* ---- registration + keepalive (keepalive.c) ---- */
	int base_pending;     /* base container creations outstanding */
	int base_done;
	int registered;       /* registration transaction committed in this session */
	int reg_inflight;
	char staticdata[256];
	char daemonstate[16]; /* our own, as last written or read */
	int ds_known;
	uint64_t ka_timer;
	int ka_inflight;
	int ka_again;          /* VM figures changed while a keepalive was in flight */
	int ka_retry_armed;
	char vm_memalloc[24], vm_vcpualloc[24], vm_domainscount[24];
	char *vm_running;
	uint64_t ka_last_ok;  /* mono ms of the last committed keepalive */
	char upstream_ip[64]; /* /upstream_ip as last written by us (primary) */

	/* ---- election (elect.c, lock.c) ---- */
	char primary[ZK_NAME]; /* /primary_node value ("" = unknown) */
	int32_t primary_ver;
	int primary_known;
	int routerstate_known;
	char routerstate[16];  /* in ZooKeeper, as last written by us (or read) */
	int rs_inflight;
	char rs_sent[16];      /* value of the latest routerstate write sent */
	int rs_watch;          /* a watch on our own routerstate is armed (this session) */
	struct zk_contender cont[ZK_MAX_CONTENDERS];
	int ncont;
	int children_known;
	char my_lock[ZK_NAME]; /* own contender name, "" if none */
	char my_prefix[33];    /* 32-hex prefix of the contender being created */
	int lock_creating, lock_deleting;
	int contend_inflight;
	int32_t contend_ver;
	int none_inflight;
	uint64_t none_hold_until; /* ex-primary: no contention before this (mono ms) */
	uint64_t hold_timer;
	int missing_ticks;     /* keepalive ticks /primary_node named a node without contender */
	int owner_had_lock;    /* the named primary was seen holding a contender */
	int net_want;          /* last instruction: 1 takeover, 0 relinquish */
	int net_have;          /* last ack: 1 resources up, 0 down, -1 unknown */
	uint64_t epoch;
	uint64_t net_sent_ms;
	/* services.c: what each of the primary's services was last told (0, 1; 2 nothing
	 * yet; -1 it does not run on this node), indexed by enum pvc_role */
	int svc_told[ROLE_COUNT];
	uint64_t svc_epoch;
	uint64_t takeover_delay_timer;
	int takeover_delay_done;
	int synced;            /* initial reads complete: decisions may be made */
	struct zk_peer peers[CFG_MAX_COORDINATORS]; /* interop.c: the other coordinators */
	int npeers;
	char interop_wait[CFG_NAME_MAX]; /* peer our takeover waits for ("" none) */

	/* ---- relay (relay.c) ---- */
	struct zk_domain *doms;
	int ndoms, capdoms;
	int doms_listed;       /* /domains children read at least once */
	int vm_sync_sent;
	char domainstate[16];
	int32_t domainstate_ver;
	int domainstate_known;
	int maintenance;
	int nnodes;
	/* relay.c: requests in flight per sending role (the cap of issue #16) and the
	 * rate limit of the line that reports busy answers */
	unsigned req_inflight[ROLE_COUNT];
	unsigned req_busy[ROLE_COUNT];  /* busy answers not logged yet */
	uint64_t req_busy_log_ms;

	/* ---- fencing (fence.c, issue #8): state private to that file ---- */
	struct zk_fence *fence;

	/* ---- the command pipes and RBD locks (ceph_cmd.c, issue 19): private ---- */
	struct zk_cephcmd *cephcmd;

	/* ---- client networks (networks.c, issue #9): private to that file ---- */
	struct zk_nets *nets;

	/* ---- shutdown (election.c) ---- */
	int phase;             /* 0 running, 1 after phase 1, 2 in phase 2 */
	int p2_step;
	int p2_had_lock;        /* the shutdown multi in flight deletes our contender */
	uint64_t p2_timer, p2_deadline_timer;
	char status_last[512];
};

/* values.c: zk_values.h (pure) */

/* session.c: the session, the lease ping, the watcher of every per-path watch */
int zk_session_init(struct zk_ctx *z);
void zk_session_start(struct zk_ctx *z);
void zk_session_adopt(struct zk_ctx *z, const struct ipc_zk_session *s);
void zk_session_close(struct zk_ctx *z);
int zk_session_usable(const struct zk_ctx *z);
int zk_session_lease_valid(const struct zk_ctx *z);
/* pass to zoo_aw*(): the event goes to hooks->watch */
void zk_session_path_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);
const char *zk_session_err(int rc);
int zk_session_ping_period_ms(int T); /* lease pings: min(T/6, (T - margin)/4) */
/* Start the lease pings now if hooks->lease_wanted() and they are not running. */
void zk_session_lease_kick(struct zk_ctx *z);

/* multi.c */
/* A multi-op under construction (heap, freed in the completion). */
struct zk_multi {
	struct zk_ctx *z;
	int n, cap;
	zoo_op_t *ops;
	zoo_op_result_t *res;
	char **bufs; /* strings owned by the multi (paths, values, create buffers) */
	int nbufs, capbufs;
	int failed; /* an op could not be added: the commit reports ZSYSTEMERROR */
	void (*done)(struct zk_ctx *z, int rc, struct zk_multi *m);
	void *arg;
};
struct zk_multi *zk_multi_new(struct zk_ctx *z);
int zk_multi_set(struct zk_multi *m, const char *path, const char *value, int version);
int zk_multi_create(struct zk_multi *m, const char *path, const char *value, int flags);
int zk_multi_delete(struct zk_multi *m, const char *path, int version);
/* Send; on failure to send the completion still runs (with the error). */
void zk_multi_commit(struct zk_multi *m);


/* lock.c: the /primary_node contender of this node (kazoo Lock protocol) */
void zk_lock_children(struct zk_ctx *z);          /* (re)read children with a watch */
void zk_lock_create(struct zk_ctx *z);
void zk_lock_release(struct zk_ctx *z);           /* plain delete (never primary) */
void zk_lock_deleted(struct zk_ctx *z);           /* own contender is gone */
void zk_lock_forget(struct zk_ctx *z);            /* session lost: nothing is held */
int zk_lock_held(const struct zk_ctx *z);         /* own contender is the lowest __lock__ */
int zk_lock_owner_present(const struct zk_ctx *z, const char *node);
int zk_lock_all_known(const struct zk_ctx *z);
void zk_lock_children_event(struct zk_ctx *z);
/* a watch event on the contender `name` (a child of /primary_node) */
void zk_lock_contender_event(struct zk_ctx *z, int type, const char *name);

/* interop.c: reference (Python) nodes in the same cluster */
void zk_interop_connected(struct zk_ctx *z);
int zk_interop_watch(struct zk_ctx *z, const char *path);
int zk_interop_known(const struct zk_ctx *z);
int zk_interop_acting(const struct zk_ctx *z, const char *node);
const char *zk_interop_blocker(const struct zk_ctx *z);
void zk_interop_note(struct zk_ctx *z, const char *blocker);

/* elect.c */
void zk_elect_connected(struct zk_ctx *z);
void zk_elect_primary_read(struct zk_ctx *z);
void zk_elect_evaluate(struct zk_ctx *z);
void zk_elect_lock_changed(struct zk_ctx *z, int owner_vanished);
void zk_elect_session_lost(struct zk_ctx *z);
void zk_elect_lease_lapsed(struct zk_ctx *z);
void zk_elect_lease_renewed(struct zk_ctx *z);
int zk_elect_lease_wanted(const struct zk_ctx *z);
void zk_elect_net_ack(struct zk_ctx *z, const struct ipc_net_ack *ack);
void zk_elect_net_hello(struct zk_ctx *z);

/* services.c: the primary's services (api-units, dns-aggregator, metadata, ceph) are
 * primary exactly while net-router's addresses are confirmed up and wanted. */
void zk_svc_init(struct zk_ctx *z);
void zk_svc_sync(struct zk_ctx *z);                         /* tell whoever is behind */
void zk_svc_hello(struct zk_ctx *z, enum pvc_role role);    /* MSG_SVC_HELLO */
void zk_elect_tick(struct zk_ctx *z);
void zk_elect_rs_event(struct zk_ctx *z); /* watch on our own routerstate fired */
int zk_elect_desired(const struct zk_ctx *z);
/* phase 2 of the shutdown: relinquish, release, `none`; calls back when done */
void zk_elect_shutdown(struct zk_ctx *z, void (*done)(struct zk_ctx *z));

/* keepalive.c */
void zk_keepalive_static(struct zk_ctx *z); /* before confinement: uname, CPUs */
void zk_keepalive_connected(struct zk_ctx *z, int new_session);
void zk_keepalive_run(struct zk_ctx *z);
void zk_keepalive_ds_event(struct zk_ctx *z);
void zk_keepalive_vm_stats(struct zk_ctx *z, const struct ipc_strv *sv);
void zk_keepalive_set_daemonstate(struct zk_ctx *z, const char *state,
				  void (*done)(struct zk_ctx *z, int rc));
void zk_keepalive_final(struct zk_ctx *z, void (*done)(struct zk_ctx *z, int rc));

/* relay.c */
void zk_relay_connected(struct zk_ctx *z);
void zk_relay_watch(struct zk_ctx *z, int type, const char *path);
void zk_relay_vm_sync(struct zk_ctx *z);
void zk_relay_flush_domainstate(struct zk_ctx *z);
void zk_relay_request(struct zk_ctx *z, struct ipc_msg *msg);
/* The per-role cap on requests in flight: 1 and counted, or 0 (answer busy; logged
 * at most every ZK_RELAY_BUSY_LOG_MS). Every admitted request is released once.
 * Exposed for unit tests. */
#define ZK_RELAY_INFLIGHT_MAX 256
#define ZK_RELAY_BUSY_LOG_MS 10000
int zk_relay_admit(struct zk_ctx *z, enum pvc_role from);
void zk_relay_release(struct zk_ctx *z, enum pvc_role from);

/* networks.c: /networks tree -> MSG_NET_NETWORKS (issue #9) */
int zk_networks_init(struct zk_ctx *z);
void zk_networks_connected(struct zk_ctx *z); /* (re)read /networks, send when complete */
void zk_networks_hello(struct zk_ctx *z);     /* MSG_NET_HELLO: send the current set */
struct netdef;
const struct netdef *zk_networks_find(struct zk_ctx *z, uint32_t vni); /* valid ones only */

/* net_lease.c: DHCP lease events (MSG_NET_LEASE_EVENT) */
void zk_net_lease_event(struct zk_ctx *z, struct ipc_msg *msg);

/* ceph_cmd.c: /cmd/domains (flush_locks) and /cmd/ceph (osd_add, osd_remove) under
 * kazoo write locks, and RBD lock breaking through the ceph worker (issue 19) */
int zk_ceph_cmd_init(struct zk_ctx *z);
void zk_ceph_cmd_connected(struct zk_ctx *z, int new_session);
int zk_ceph_cmd_watch(struct zk_ctx *z, const char *path);  /* 1: one of the pipes */
void zk_ceph_cmd_result(struct zk_ctx *z, struct ipc_msg *msg); /* MSG_CEPH_RESULT */
/* Break the RBD locks of the volumes of comma-separated rbdlists ("pool/vol,...")
 * through the ceph worker, 32 volumes per MSG_CEPH_CMD (up to 1024 volumes);
 * cb(z, arg, ok, detail) once, within 30 s per 32 volumes. Returns 0 (cb will run),
 * 1 (nothing to break, no cb), -1 (cannot: no ceph worker on this node, too many
 * volumes or requests; no cb). */
int zk_ceph_cmd_flush(struct zk_ctx *z, const char *rbdlists,
		      void (*cb)(struct zk_ctx *z, uint64_t arg, int ok, const char *detail),
		      uint64_t arg);

/* fence.c: dead-node detection, fencing through the fence worker, recovery,
 * and the self-fencing clock sent to vm-manager (issue #8) */
int zk_fence_init(struct zk_ctx *z);
void zk_fence_dispatch(struct zk_ctx *z, struct ipc_msg *msg); /* frames from ROLE_FENCE */
/* a keepalive sent at `sent_ms` (mono) committed: VM_KEEPALIVE, detection round */
void zk_fence_keepalive_committed(struct zk_ctx *z, uint64_t sent_ms);
void zk_fence_vm_hello(struct zk_ctx *z);  /* VM_HELLO: send the self-fencing clock */
int zk_fence_defer_sync(struct zk_ctx *z); /* 1: VM reads in flight, sync re-run later */

/* election.c: zk_election_main() (worker.h), the hooks */

#endif
