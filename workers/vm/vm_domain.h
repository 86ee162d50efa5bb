/*
 * vm_domain.h: vm-manager's per-VM records, the decision table (ref §5.3) and the
 * per-VM serialized work queue; shared context of the vm-manager process.
 *
 * Files and who calls whom (no file calls a file above it):
 *   manager.c   the process: start-up, zk-election input, ZooKeeper requests,
 *               the callbacks of struct vm_ops
 *   reconcile.c libvirt results, events, listing and reconnection
 *   stats.c     the figures for the keepalive and the worker status
 *   result.c    results of an action's steps
 *   domain.c    the actions themselves
 *   console.c, selffence.c, record.c, decide.c, libvirt.c
 * Lower files reach the process only through m->ops (libvirt jobs, ZooKeeper
 * requests, "the figures changed"), registered by manager.c.
 *
 * Level-triggered: a record holds the LATEST desired state (from zk-election) and the
 * LATEST observation (from libvirt). At most one action runs per VM; whatever arrives
 * meanwhile only updates the record, and when the action ends the table is evaluated
 * again on the latest values. Nothing is queued as an edge, so nothing is dropped.
 */
#ifndef VM_DOMAIN_H
#define VM_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "vm_libvirt.h"
#include "worker.h"

/* Rows of ref §5.3 turned into actions. */
enum vm_action {
	VA_NONE = 0,        /* nothing to do */
	VA_ADOPT,           /* owner, running, start: it is ours (running list) */
	VA_ADOPT_WRITE_START, /* owner, running, migrate: migrated "to itself": state=start */
	VA_RESTART,         /* owner, running, restart */
	VA_SHUTDOWN,        /* running, shutdown (owner or not) */
	VA_STOP,            /* owner, running, stop */
	VA_START,           /* owner, not running, start */
	VA_RECEIVE,         /* owner, not running, migrate */
	VA_WRITE_START,     /* owner, not running, restart: state=start */
	VA_FORGET,          /* owner, not running, shutdown|stop: drop from running list */
	VA_MIGRATE_OUT,     /* not owner, running, migrate */
	VA_TERMINATE,       /* not owner, running, anything else: destroy, no write */
	VA_COUNT
};

/* decide.c: the decision table as a pure function (unit-tested row by row). `state`
 * must be one of the known states (vm_decide_state_valid); anything else gives VA_NONE. */
enum vm_action vm_decide_action(int owner, int running, const char *state);
const char *vm_decide_action_name(enum vm_action a);
/* States of ref §5.2 (including the reference's bogus `stopped` and `unmigrate`). */
int vm_decide_state_valid(const char *s);

/* Steps of an action (struct vm_rec.phase). */
enum vm_phase {
	PH_NONE = 0,
	PH_GETXML, PH_CREATE,
	PH_SHUT_REQ, PH_SHUT_WAIT, PH_SHUT_DESTROY,
	PH_DESTROY,
	PH_MIGRATE, PH_MIGRATE_BUSY,
	PH_RECV_WAIT,
	PH_WRITE,
};

#define VM_STATE_MAX 16
#define VM_NAME_MAX 128

struct vm_console {
	int64_t mtime_ns;
	int64_t size;
	uint64_t hash;     /* of the last uploaded text (memory stays bounded) */
	int uploaded;      /* hash is meaningful */
	int inflight;
	/* A log only root may read (libvirt's serial logs are root:root 0600): its
	 * descriptor, opened by the supervisor (MSG_VM_CONSOLE_OPEN), kept while the VM
	 * runs here, and the identity of the file it belongs to. */
	int have_fd, fd;
	uint64_t fd_dev, fd_ino;
	uint64_t asked_dev, asked_ino; /* the file last asked for (once per file) */
	int asked;
};

struct vmm;

struct vm_rec {
	struct vmm *m;     /* back pointer for timer callbacks */
	char uuid[VLV_UUID_LEN];
	char name[VM_NAME_MAX];
	/* desired (zk-election) */
	int known;         /* a PVC VM (else a libvirt domain unknown to PVC) */
	int gone;          /* deleted from ZooKeeper while an action ran: free at its end */
	unsigned seen_gen; /* sync generation of the last VM_DOMAIN */
	char state[VM_STATE_MAX];
	char node[CFG_NAME_MAX];
	char lastnode[CFG_NAME_MAX];
	long long version; /* ZK data version of `state` */
	/* observed (libvirt) */
	int lv;            /* enum vlv_state */
	int vir_state;
	unsigned long mem_kib;
	unsigned vcpus;
	uint64_t lv_seq;   /* vmm.evseq when last updated by an event or action */
	uint64_t run_order;/* position in the running list */
	/* work */
	enum vm_action act;
	int phase;
	uint64_t cookie;   /* identifies the current action; stale replies are dropped */
	int dirty;         /* something changed while busy */
	int spin;          /* actions since the last outside change (loop guard) */
	char act_state[VM_STATE_MAX]; /* the state value the action serves */
	/* ...and its ZK data version: a write-back is compare-and-set on it, so it can
	 * never land on a command written after the one the action served */
	long long act_version;
	/* a write-back on this version failed (a newer command exists): decide nothing
	 * until a state newer than it arrives (-1: none) */
	long long stale_version;
	uint64_t deadline_timer, tick_timer;
	int cold;          /* receive: the sender fell back to shutdown+start */
	int infer_cold;    /* a migration here was seen only after its cold fallback */
	int lookup_inflight;
	/* pending CAS state write */
	char w_new[VM_STATE_MAX];
	char *w_reason;
	struct vm_console con;
	struct vm_rec *next_dead;
	int unlinked;
};

/* ZooKeeper request kinds (the reply goes back to the record's action). */
enum vm_zk_kind { ZK_K_XML, ZK_K_STATE_WRITE, ZK_K_PLAIN, ZK_K_CONSOLE };

/* What the lower files need from the process (manager.c registers them). */
struct vm_ops {
	/* queue a libvirt job; 0 / -1 */
	int (*submit)(struct vmm *m, struct vlv_job *j);
	/* a ZooKeeper request through zk-election, its reply going to r's action
	 * (enum vm_zk_kind); 0 / -1 */
	int (*zk_send)(struct vmm *m, struct vm_rec *r, int kind, uint32_t type,
		       const char *const *args, uint32_t n);
	/* the figures (running list, counts) may have changed */
	void (*stats_changed)(struct vmm *m);
};

struct vmm {
	const struct vm_ops *ops;
	struct worker *w;
	const struct pvc_config *cfg;
	struct vlv *lv;
	struct vm_rec **recs;
	size_t nrecs, caprecs;
	uint64_t next_cookie, evseq, run_seq;
	unsigned sync_gen;
	int synced;        /* a complete picture from zk-election arrived once */
	int listed;        /* a complete libvirt listing arrived since (re)connecting */
	int list_inflight;
	uint64_t list_seq;
	int reconnect_ms;
	int reconnecting;
	int stats_pending;
	struct vm_rec *dead;   /* unlinked records, freed by the next loop pass */
	uint64_t reap_timer;
	uint64_t console_timer;   /* armed only while a VM runs here */
	char last_status[2048];
	char last_foreign[1100];
};

/* record.c */
struct vm_rec *vm_record_find(struct vmm *m, const char *uuid);
struct vm_rec *vm_record_get(struct vmm *m, const char *uuid); /* find or create (unknown) */
void vm_record_free(struct vmm *m, struct vm_rec *r);
/* Close a record's console descriptor (record freed, VM gone from here). */
void vm_record_console_drop(struct vm_rec *r);
int vm_record_owner(const struct vmm *m, const struct vm_rec *r);
/* synced with ZooKeeper and libvirt: actions may start */
int vm_record_ready(const struct vmm *m);

/* domain.c: inputs */
void vm_domain_evaluate(struct vmm *m, struct vm_rec *r);
void vm_domain_state_changed(struct vmm *m, struct vm_rec *r);
void vm_domain_observed(struct vmm *m, struct vm_rec *r, int lv, int from_event);
/* domain.c: the plumbing of actions, for result.c */
void vm_domain_end(struct vmm *m, struct vm_rec *r, int reeval);
void vm_domain_submit(struct vmm *m, struct vm_rec *r, struct vlv_job *j);
struct vlv_job *vm_domain_job(struct vm_rec *r, enum vlv_op op);
/* Write back `newst` (and failedreason `reason`) as the answer to the state value
 * `expect` at r->act_version; end the action instead if the record holds anything
 * else by now. Callers that answer a state that arrived during the action set
 * r->act_version = r->version first. */
void vm_domain_conclude(struct vmm *m, struct vm_rec *r, const char *expect, const char *newst,
			const char *reason);
void vm_domain_clear_failedreason(struct vmm *m, struct vm_rec *r);
void vm_domain_arm(struct vmm *m, struct vm_rec *r, int deadline_s);
void vm_domain_stop_timers(struct vmm *m, struct vm_rec *r);
void vm_domain_migrate_busy(struct vmm *m, struct vm_rec *r);
void vm_domain_shut_done(struct vmm *m, struct vm_rec *r);

/* result.c */
void vm_result_job(struct vmm *m, struct vm_rec *r, struct vlv_job *j);
void vm_result_zk(struct vmm *m, struct vm_rec *r, int kind, int rc, const char *value);

/* reconcile.c */
void vm_reconcile_list(struct vmm *m);
void vm_reconcile_evaluate_all(struct vmm *m);
void vm_reconcile_done(struct vlv_job *j, struct vmm *m);
/* the first connection failed: keep trying */
void vm_reconcile_connect_later(struct vmm *m);

/* stats.c: MSG_VM_STATS (once synced) and the worker status */
void vm_stats_send(struct vmm *m);

/* console.c */
/* Arm the capture tick if a VM runs here (call after every input). */
void vm_console_update(struct vmm *m);
void vm_console_reply(struct vmm *m, struct vm_rec *r, int rc);
/* MSG_VM_CONSOLE_FD from the supervisor (takes msg->fd). */
void vm_console_fd(struct vmm *m, struct ipc_msg *msg);
/* Keep the last `lines` lines of buf[0..len) (dropping a partial first line when
 * `partial` is set) with invalid UTF-8 and NUL replaced by U+FFFD. Returns a malloc'd
 * string and its length in *outlen, or NULL. Exposed for unit tests. */
char *vm_console_tail(const char *buf, size_t len, int partial, int lines, size_t *outlen);

#endif
