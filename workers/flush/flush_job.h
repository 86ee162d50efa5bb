/*
 * flush_job.h: the flush and unflush jobs (ref §6.2, §6.4 with the [C] fixes) as an
 * event-driven state machine over the ZooKeeper request API (DESIGN.md §2.2). The
 * job never blocks: it sends requests through `io->send` and is fed the replies and
 * the domainstate updates by the caller (workers/flush/flush.c, or a unit test).
 *
 * Everything the job decides is recomputed from ZooKeeper after a (re)start, so a
 * restarted worker resumes a flush without moving any VM twice.
 */
#ifndef FLUSH_JOB_H
#define FLUSH_JOB_H

#include <stdint.h>

#include "evloop.h"
#include "ipc.h"

struct flush_params {
	const char *node;          /* this node's name */
	const char *selector;      /* default target selector (mem|load|vcpus|vms) */
	int in_flight;             /* VMs handled concurrently (>= 1) */
	uint64_t vm_timeout_ms;    /* per-VM bound for a move or a settling state */
	uint64_t poll_ms;          /* wait-loop polling period */
	uint64_t req_timeout_ms;   /* resend a request unanswered for this long */
	uint64_t retry_min_ms;     /* first backoff step while ZooKeeper is away (0: 100) */
};

struct flush_io {
	void *arg;
	/* Send one request (MSG_ZK_GET / MSG_ZK_CHILDREN / MSG_ZK_WRITE); v[0] is the
	 * reqid. Returns 0 or -1 (the job then retries later). */
	int (*send)(void *arg, uint32_t type, const char *const *v, uint32_t n);
	/* The status lines changed (job, counters). */
	void (*status)(void *arg);
};

struct flush_job;

struct flush_job *flush_job_new(struct ev_loop *loop, const struct flush_params *p,
				const struct flush_io *io);
void flush_job_free(struct flush_job *j);

/* MSG_FLUSH_DOMAINSTATE [value, version] (untrusted). */
void flush_job_domainstate(struct flush_job *j, const struct ipc_strv *sv);
/* MSG_ZK_REPLY [reqid, rc, ...] (untrusted). Replies not ours are ignored. */
void flush_job_reply(struct flush_job *j, struct ipc_strv *sv);

/* Stop between moves: no new VM is started; `done` runs once no move is in flight
 * (or after `bound_ms`, the remaining moves being resumed by the next start). */
void flush_job_stop(struct flush_job *j, uint64_t bound_ms, void (*done)(void *arg), void *arg);

/* Status as key=value lines into v (at most `max`); returns the count. The strings
 * live in the job until the next call. */
uint32_t flush_job_status(struct flush_job *j, const char **v, uint32_t max);

/* For tests and logs: "idle", "flush" or "unflush". */
const char *flush_job_kind(const struct flush_job *j);
/* Counters of the current (or last) job. */
void flush_job_counts(const struct flush_job *j, int *total, int *moved, int *failed);

#endif
