/*
 * ceph_int.h: private to workers/ceph/ (the ceph worker, docs/ceph.md).
 *
 * Two threads. The event-loop thread (ceph.c, cycle.c) talks to the supervisor and
 * to zk-election; the rados thread (rados.c) makes every librados/librbd call, whose
 * latency is Ceph's (a down monitor: the configured timeouts, seconds). Jobs go to
 * the rados thread through a queue under a mutex and come back through a pipe the
 * loop watches, so that Ceph being down or slow never stalls the loop (pings,
 * shutdown, ZooKeeper replies).
 *
 * Calls go one way: ceph.c -> cycle.c -> rados.c -> statjob.c, lockjob.c -> client.c
 * -> stats.c -> json.c.
 */
#ifndef CEPH_INT_H
#define CEPH_INT_H

#include <pthread.h>
#include <stdint.h>

#include "ceph_stats.h"
#include "worker.h"
#include "zkreq.h"

#define CEPH_POOLS_MAX 64
#define CEPH_OSDS_MAX 64
#define CEPH_IMAGES_MAX 32
#define CEPH_KV_MAX (2 + CEPH_POOLS_MAX + CEPH_OSDS_MAX)
#define CEPH_ID_MAX 64

enum ceph_job_kind { CEPH_JOB_STATS, CEPH_JOB_LOCKS, CEPH_JOB_STOP };

/* What a value belongs to: the cluster's head (/ceph, /ceph/radosdf) and the pools
 * are the primary's, and dropped if the node lost primary meanwhile; the head is
 * written in a batch of its own, so that no pool or OSD value refused by
 * zk-election takes it down with its batch. */
enum ceph_kv_group { CEPH_KV_HEAD, CEPH_KV_POOL, CEPH_KV_OSD };

struct ceph_kv {
	char path[160];
	char *value; /* malloc'd, complete */
	enum ceph_kv_group group;
};

struct ceph_job {
	struct ceph_job *next;
	enum ceph_job_kind kind;
	/* STATS in */
	int primary;
	int npools, nosds, total_osds;
	char pools[CEPH_POOLS_MAX][128];
	int64_t osds[CEPH_OSDS_MAX];
	/* STATS out: every value complete. ok = 0: Ceph did not answer, nothing to
	 * write. Otherwise the primary part (head_ok, else head_err says why) and
	 * the OSD part (osds_ok, else osds_err) stand apart, and within the OSD part
	 * each OSD (osd_ok[i]; a skipped one has a line in notes). */
	int head_ok, osds_ok;
	int osd_ok[CEPH_OSDS_MAX];
	char head_err[256], osds_err[256];
	struct ceph_kv kv[CEPH_KV_MAX];
	int nkv;
	char health[64];
	uint64_t took_ms;
	struct ceph_osd_rate totals[CEPH_OSDS_MAX]; /* out: cumulative, for the next rates */
	struct ceph_osd_rate prev[CEPH_OSDS_MAX];   /* in: the last cycle's totals */
	int have_prev[CEPH_OSDS_MAX];
	uint64_t elapsed_ms;                        /* since that cycle */
	/* LOCKS in/out */
	char id[CEPH_ID_MAX];
	int nimages;
	char images[CEPH_IMAGES_MAX][256];
	int nbroken, nfailed;
	/* both */
	int ok;
	char err[512];
	/* lines for the log, '\n'-terminated, malloc'd: the rados thread never logs
	 * (the log goes to the supervisor channel the loop owns); the loop logs these
	 * when the job comes back */
	char *notes;
	size_t notes_len;
};

struct ceph_rados {
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ceph_job *queue, *done;
	int wake[2];       /* rados thread -> loop: a job is done */
	int wake_errno;    /* under mu: the last failed wake, for the loop to log */
	/* rados thread only */
	void *cluster;     /* rados_t, NULL while not connected */
	char conf[256], keyring[256], client[80];
};

struct ceph_ctx {
	struct worker *w;
	struct ipc_zkreq_client zk;
	struct ceph_rados r;
	int primary;
	uint64_t timer;
	/* the cycle (cycle.c) */
	int cycling;           /* reads outstanding or a stats job queued */
	int reads;             /* ZooKeeper reads outstanding */
	int stale;             /* failures in a row (logged on the first) */
	int stale_head, stale_osds; /* the same, for one part of the cycle (statjob.c) */
	char *notes;           /* the last cycle's notes: the same lines are not logged again */
	char bad_pools[8][128]; /* pool names refused, each logged once */
	int nbad_pools;
	struct ceph_job *next; /* being filled by the ZooKeeper reads */
	uint64_t prev_ms;
	int nprev;
	int64_t prev_id[CEPH_OSDS_MAX];
	struct ceph_osd_rate prev[CEPH_OSDS_MAX];
	int stopping;
};

/* cycle.c */
void ceph_cycle_start(struct ceph_ctx *c);
void ceph_cycle_job_done(struct ceph_ctx *c, struct ceph_job *j);
void ceph_cycle_cmd(struct ceph_ctx *c, struct ipc_msg *msg);

/* rados.c: the thread; jobs are malloc'd by the caller and handed back done. */
int ceph_rados_init(struct ceph_rados *r, const struct pvc_config *cfg);
void ceph_rados_submit(struct ceph_rados *r, struct ceph_job *j);
/* The finished jobs (a list), emptied. */
struct ceph_job *ceph_rados_take_done(struct ceph_rados *r);
void ceph_rados_stop(struct ceph_rados *r);
void ceph_rados_job_free(struct ceph_job *j);

/* statjob.c, lockjob.c (rados thread): 0 done, -1 failed (j->err says why); a
 * stats job is done once Ceph answered, each part saying how it went (head_ok,
 * osds_ok) */
int ceph_statjob_run(struct ceph_rados *r, struct ceph_job *j);
int ceph_lockjob_run(struct ceph_rados *r, struct ceph_job *j);

/* client.c (rados thread) */
int ceph_client_connect(struct ceph_rados *r, char *err, size_t errsz);
void ceph_client_disconnect(struct ceph_rados *r);
/* The largest answer taken: 1 MiB for every command but `pg dump pgs`, whose
 * answer grows with the placement groups (about 2 KiB each: a cluster of 4096 PGs
 * answers some 8 MiB), hence 64 MiB for it. */
#define CEPH_OUT_MAX (1u << 20)
#define CEPH_PGDUMP_MAX (64u << 20)
int ceph_client_command(struct ceph_rados *r, int mgr, const char *cmd, size_t max, char **out,
			size_t *outlen, char *err, size_t errsz);
struct cj *ceph_client_json(struct ceph_rados *r, int mgr, const char *cmd, size_t max,
			    char **raw, char *err, size_t errsz);
int ceph_client_kv_add(struct ceph_job *j, const char *path, const char *value, size_t len,
		       enum ceph_kv_group group);
/* one line for the loop to log (dropped past 64 KiB or without memory) */
void ceph_client_note(struct ceph_job *j, const char *line);

/* seccomp.c */
int ceph_seccomp_rules(void *scmp_ctx);

#endif
