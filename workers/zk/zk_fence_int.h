/*
 * zk_fence_int.h: private to workers/zk/fence*.c (dead-node detection, the fence
 * of one node, recovery of its VMs). docs/fencing.md describes the protocol.
 *
 * Calls go one way: fence.c -> fence_lock.c -> fence_job.c -> fence_recover.c ->
 * fence_util.c (each may also call any file after it in that list).
 *
 * Every asynchronous ZooKeeper call carries the job's generation number, never a
 * pointer to the job: a job may end (node came back, session lost) while calls
 * are in flight, and a late completion must find nothing rather than freed memory.
 */
#ifndef ZK_FENCE_INT_H
#define ZK_FENCE_INT_H

#include <stdint.h>

#include "zk_internal.h"

#define ZF_PATH 192
#define ZF_NODES_MAX 256
#define ZF_REQ_TIMEOUT_MS 150000 /* the fence worker: 4 commands x 30 s + margin */

/* ---- the judgement (pure; tests/unit/test_fence_judge.c) ---- */
/* Age in ms of a node's keepalive by ZooKeeper's clock: `own` = mtime of our
 * keepalive just committed, `theirs` = mtime of theirs, `epoch` = E (docs/fencing.md
 * §2: nobody is measured from before our first keepalive after a gap). */
int64_t zk_fence_util_age(int64_t own, int64_t theirs, int64_t epoch);
/* 1 if a node in daemon state `ds` with that age must be fenced. */
int zk_fence_util_is_dead(const char *ds, int64_t age, int keepalive_s, int fence_intervals);
/* 1 if our keepalive sent at `sent` (mono ms) follows the previous committed one
 * (`prev`, 0 = none yet) after a gap: the next round starts a new epoch. */
int zk_fence_util_gap(uint64_t prev, uint64_t sent, int keepalive_s);

/* ---- a batch of reads answered together ---- */
struct zf_item {
	struct zf_batch *b;
	char path[ZF_PATH];
	int exists_only; /* zoo_aexists: only the Stat */
	int rc;
	char *val;       /* NUL-terminated copy (NULL unless rc == ZOK and a get) */
	int32_t version;
	int64_t mtime;
};

struct zf_batch {
	struct zk_ctx *z;
	uint64_t gen;   /* job generation, or 0 for a detection round */
	int n, cap, pending;
	struct zf_item **it;
	void (*done)(struct zk_ctx *z, struct zf_batch *b);
};

struct zf_batch *zk_fence_util_batch_new(struct zk_ctx *z, uint64_t gen,
			      void (*done)(struct zk_ctx *z, struct zf_batch *b));
/* Returns the item index, or -1 (the batch is then marked failed via rc). */
int zk_fence_util_batch_get(struct zf_batch *b, const char *path);
int zk_fence_util_batch_exists(struct zf_batch *b, const char *path);
/* Send everything; `done` runs once when all answers are in (not when closing),
 * then the batch is freed. */
void zk_fence_util_batch_send(struct zf_batch *b);
/* The value of item i if it was read (rc ZOK), else NULL. */
const char *zk_fence_util_val(const struct zf_batch *b, int i);

/* ---- a transaction with check ops (zk_multi has none) ---- */
/* a VM move: check, state, node, lastnode, node_selector, node_limit, and the dead
 * node's runningdomains and domainscount (fence_recover.c) */
#define ZF_MULTI_MAX 10
struct zf_multi {
	struct zk_ctx *z;
	uint64_t gen;
	int n;
	zoo_op_t ops[ZF_MULTI_MAX];
	zoo_op_result_t res[ZF_MULTI_MAX];
	char paths[ZF_MULTI_MAX][ZF_PATH];
	char vals[ZF_MULTI_MAX][ZK_NAME * 2];
	char created[ZF_MULTI_MAX][ZF_PATH + 16];
	int failed;
	void (*done)(struct zk_ctx *z, struct zf_multi *m, int rc);
	void *arg;
};
struct zf_multi *zk_fence_util_multi_new(struct zk_ctx *z, uint64_t gen);
void zk_fence_util_multi_check(struct zf_multi *m, const char *path, int32_t version);
void zk_fence_util_multi_set(struct zf_multi *m, const char *path, const char *value, int32_t version);
void zk_fence_util_multi_create(struct zf_multi *m, const char *path, const char *value);
/* Commit; `done` always runs (with ZCLOSING when closing), then m is freed. */
void zk_fence_util_multi_commit(struct zf_multi *m);

/* ---- jobs: one per node being fenced ---- */
enum zf_state {
	ZJ_LOCK,      /* creating / waiting for the write lock on daemonstate */
	ZJ_MARK,      /* lock held: re-read, write `dead`, release */
	ZJ_THROWS,    /* saving throws */
	ZJ_IPMI,      /* reading the BMC keys, then waiting for the fence worker */
	ZJ_AFTER,     /* routerstate / primary_node */
	ZJ_RECOVER,   /* recovering VMs */
};

struct zf_rec; /* fence_recover.c */

struct zf_job {
	struct zf_job *next;
	struct zk_ctx *z;        /* for timer callbacks */
	uint64_t gen;
	char node[ZK_NAME];
	enum zf_state st;
	/* lock */
	char prefix[33];
	char lock[ZK_NAME];      /* own contender name under daemonstate, "" if none */
	uint32_t seq;
	int lock_wait_inflight;
	int64_t judged_mtime;    /* mtime of its keepalive when judged dead */
	/* after marking */
	int32_t ds_ver;          /* data version of our `dead` */
	int throws;
	uint64_t timer;
	char id[24];
	int fence_ok;
	uint64_t marked_ms, fenced_ms;
	struct zf_rec *rec;
};

#define ZF_ORPHANS 16
struct zf_orphan {
	char dir[ZF_PATH];
	char prefix[33];
};

struct zk_fence {
	uint64_t next_gen;
	uint32_t id_tag;         /* random per process: request ids never repeat */
	/* lock contenders whose removal failed (fence_lock.c) */
	struct zf_orphan orphans[ZF_ORPHANS];
	int norphans;
	struct zf_job *jobs;
	/* detection */
	int round_inflight;
	uint64_t last_round_ms;
	int grace;               /* first round after a gap in our own keepalives */
	int64_t epoch_mtime;     /* ZooKeeper mtime from which absent nodes are measured */
	uint64_t last_ka_sent;   /* mono send time of our last committed keepalive */
	uint64_t sync_timer;     /* a deferred VM sync answer */
	/* VM sync answers wait for a read of our daemonstate, issued after the last
	 * committed keepalive, that says `run` (zk_fence_defer_sync) */
	uint64_t ds_read_for;    /* last_ka_sent when that read was issued */
	uint64_t ds_ok_for;      /* ... and when it answered `run` */
	int ds_read_inflight;
	/* set by zk_fence_init: fence_lock.c and fence_recover.c sit above fence_util.c */
	void (*release_lock)(struct zk_ctx *z, struct zf_job *j);
	void (*free_rec)(struct zf_rec *r);
};

/* fence_util.c: the job list */
struct zf_job *zk_fence_util_job_find(struct zk_ctx *z, uint64_t gen);
struct zf_job *zk_fence_util_job_by_node(struct zk_ctx *z, const char *node);
/* Ends the job: timer, lock (release_lock), recovery (free_rec), memory. */
void zk_fence_util_job_end(struct zk_ctx *z, struct zf_job *j, const char *why);
void zk_fence_util_keepalive_ms(const struct zk_ctx *z, uint64_t *ms);

/* fence_lock.c: the kazoo write lock, marking `dead` */
void zk_fence_lock_start(struct zk_ctx *z, struct zf_job *j);
void zk_fence_lock_release(struct zk_ctx *z, struct zf_job *j);
/* Retry the removal of contenders left behind (after a committed keepalive). */
void zk_fence_lock_sweep(struct zk_ctx *z);

/* fence_job.c: saving throws, IPMI, after-fence writes */
void zk_fence_job_throws_start(struct zk_ctx *z, struct zf_job *j);
void zk_fence_job_result(struct zk_ctx *z, const struct ipc_strv *sv);

/* fence_recover.c */
void zk_fence_recover_start(struct zk_ctx *z, struct zf_job *j);
void zk_fence_recover_free(struct zf_rec *r);

#endif
