/*
 * vm_domain.h: vm-manager's per-VM records, the decision table (ref §5.3) and the
 * per-VM serialized work queue; shared context of the vm-manager process.
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

/* The decision table as a pure function (unit-tested row by row). `state` must be
 * one of the known states (vm_state_valid); anything else gives VA_NONE. */
enum vm_action vm_decide(int owner, int running, const char *state);
const char *vm_action_name(enum vm_action a);
/* States of ref §5.2 (including the reference's bogus `stopped` and `unmigrate`). */
int vm_state_valid(const char *s);

#define VM_STATE_MAX 16
#define VM_NAME_MAX 128

struct vm_console {
	int64_t mtime_ns;
	int64_t size;
	uint64_t hash;     /* of the last uploaded text (memory stays bounded) */
	int uploaded;      /* hash is meaningful */
	int inflight;
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
	uint64_t deadline_timer, tick_timer;
	int cold;          /* receive: the sender fell back to shutdown+start */
	int infer_cold;    /* a migration here was seen only after its cold fallback */
	int lookup_inflight;
	/* pending CAS state write */
	char w_expect[VM_STATE_MAX], w_new[VM_STATE_MAX];
	char *w_reason;
	struct vm_console con;
	struct vm_rec *next_dead;
	int unlinked;
};

/* ZooKeeper request kinds (the reply goes back to the record's action). */
enum vm_zk_kind { ZK_K_XML, ZK_K_STATE_WRITE, ZK_K_STATE_GET, ZK_K_PLAIN, ZK_K_CONSOLE };

struct zreq;

struct vmm {
	struct worker *w;
	const struct pvc_config *cfg;
	struct vlv *lv;
	struct vm_rec **recs;
	size_t nrecs, caprecs;
	struct zreq *zreqs;
	uint64_t next_reqid, next_cookie, evseq, run_seq;
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
	char last_status[2048];
	char last_foreign[1100];
};

/* vm_domain.c */
struct vm_rec *vm_find(struct vmm *m, const char *uuid);
struct vm_rec *vm_get(struct vmm *m, const char *uuid); /* find or create (unknown) */
void vm_free_rec(struct vmm *m, struct vm_rec *r);
int vm_owner(const struct vmm *m, const struct vm_rec *r);
int vm_ready_to_act(const struct vmm *m);
void vm_evaluate(struct vmm *m, struct vm_rec *r);
void vm_state_changed(struct vmm *m, struct vm_rec *r);
void vm_observed(struct vmm *m, struct vm_rec *r, int lv, int from_event);
void vm_job_done(struct vmm *m, struct vm_rec *r, struct vlv_job *j);
void vm_zk_done(struct vmm *m, struct vm_rec *r, int kind, int rc, const char *value,
		long long version);

/* vm_manager.c */
int vmm_zk_send(struct vmm *m, struct vm_rec *r, int kind, uint32_t type,
		const char *const *args, uint32_t n);
int vmm_submit(struct vmm *m, struct vlv_job *j);
void vmm_stats_changed(struct vmm *m);
/* Expand {node} and {domain} in a URI template. */
void vmm_expand(const char *tpl, const char *node, const char *domain, char *out, size_t outlen);

/* vm_console.c */
void vm_console_tick(struct vmm *m);
void vm_console_reply(struct vmm *m, struct vm_rec *r, int rc);
/* Keep the last `lines` lines of buf[0..len) (dropping a partial first line when
 * `partial` is set) with invalid UTF-8 and NUL replaced by U+FFFD. Returns a malloc'd
 * string and its length in *outlen, or NULL. Exposed for unit tests. */
char *vm_console_tail(const char *buf, size_t len, int partial, int lines, size_t *outlen);

#endif
