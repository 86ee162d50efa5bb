/*
 * flush_int.h: internals shared by the files of the flush job (req.c: requests to
 * zk-election; vm.c: one VM's reads, waits and writes; decide.c: what to do with a
 * VM; job.c: the job's life and public API). Not for other roles.
 *
 * The files call only downwards: job.c -> decide.c -> vm.c -> req.c. Where a lower
 * file must hand control back up (a VM's keys are read, a VM's turn is over), it
 * goes through the hooks job.c registers in flush_job_new().
 */
#ifndef FLUSH_INT_H
#define FLUSH_INT_H

#include <stdint.h>
#include <stddef.h>

#include "evloop.h"
#include "ipc.h"
#include "zkreq.h"
#include "flush_job.h"

#define MAX_REREADS 5
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define FINAL_RETRY_MS 2000
#define UUID_LEN 36
/* A cold migration passes through `stop` before the receiver writes `start` (ref
 * §5.7: about 1 s); only a `stop` that lasts longer than this is an outcome. */
#define COLD_GRACE_MS 10000

enum kind { JOB_IDLE, JOB_FLUSH, JOB_UNFLUSH };
enum phase { PH_LIST, PH_VMS, PH_FINAL };
enum vstep { VS_QUEUED, VS_READ, VS_NODES, VS_FIGS, VS_WRITE, VS_WAIT, VS_SETTLE, VS_DONE };
enum vwait { W_OUT, W_SHUT, W_IN };
/* what a placement write was for (the request tag) */
enum wtag { WR_OUT, WR_SHUT, WR_AUTOSTART, WR_IN, WR_RETURN };
/* Keys read per VM; K_RUNNING is this node's runningdomains, read while waiting. */
enum vkey { K_STATE, K_NODE, K_LASTNODE, K_LIMIT, K_SELECTOR, K_AUTOSTART, K_RUNNING, K_NKEYS };
/* Figures read per candidate node, in struct fsel_node order after the name. */
#define NFIG 8

struct fvm {
	struct flush_job *job; /* timers get the VM; it leads back to the job */
	int idx;
	char uuid[UUID_LEN + 1];
	enum vstep step;
	unsigned vseq;       /* bumped whenever the VM's outstanding replies become moot */
	char *val[K_NKEYS];  /* NULL: key missing */
	long long state_ver;
	int outstanding, read_error;
	enum vwait wait;
	char target[64];
	uint64_t deadline, timer;
	uint64_t started;     /* when the job took the VM up (per-VM duration in the log) */
	uint64_t stop_since;  /* first poll that saw `stop` at the destination (0: none) */
	int rereads, counted;
	char **nodes;        /* candidate names, then their figures (NFIG each) */
	char **figs;
	uint32_t nnodes;
};

/* What the job needs to know about one request: the generic client's argument. */
struct freq {
	uint64_t gen;
	unsigned vseq;
	int vmi, tag;
	struct flush_job *job;
	void (*cb)(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep);
};

struct flush_hooks {
	/* every key of a VM being read is in: decide what to do with it */
	void (*decide)(struct flush_job *j, int vmi);
	/* a VM's turn ended: start the next one, or end the job */
	void (*vm_done)(struct flush_job *j);
};

struct flush_job {
	struct ev_loop *loop;
	struct flush_hooks hooks;
	struct flush_params p;
	char node[64], selector[16];
	struct flush_io io;
	uint64_t gen;
	char idprefix[16]; /* differs per job instance: a restarted worker ignores replies
			    * meant for its predecessor */
	struct ipc_zkreq_client zk;
	enum kind kind;
	enum phase phase;
	struct fvm *vms;
	size_t nvms, next;
	int active;
	int cancel, stopping, in_pump;
	char ds_value[16];
	long long ds_ver;
	int total, moved, failed_n;
	char *failed;   /* comma-separated uuids */
	void (*stop_done)(void *);
	void *stop_arg;
	uint64_t stop_timer, final_timer;
	char *status_buf[6];
};


typedef void (*req_cb)(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep);

static inline const char *kind_name(enum kind k)
{
	return k == JOB_FLUSH ? "flush" : k == JOB_UNFLUSH ? "unflush" : "idle";
}

static inline void notify_status(struct flush_job *j)
{
	if (j->io.status)
		j->io.status(j->io.arg);
}

/* req.c */
void flush_req_init(struct flush_job *j);
int flush_req_issue(struct flush_job *j, uint32_t type, int vmi, int tag, req_cb cb,
		    const char *const *args, uint32_t n);
int flush_req_get(struct flush_job *j, int vmi, int tag, req_cb cb, const char *path);
void flush_req_reply(struct flush_job *j, struct ipc_strv *sv);
void flush_req_drop_all(struct flush_job *j);

/* vm.c */
int flush_vm_is_transient(const char *state);
void flush_vm_count(struct flush_job *j, struct fvm *vm);
void flush_vm_free_nodes(struct fvm *vm);
void flush_vm_clear(struct fvm *vm);
void flush_vm_finish(struct flush_job *j, int vmi, int moved, const char *why);
void flush_vm_read(struct flush_job *j, int vmi);
void flush_vm_settle(struct flush_job *j, int vmi);
void flush_vm_start_wait(struct flush_job *j, int vmi, enum vwait w);
void flush_vm_write(struct flush_job *j, int vmi, int tag, const char *const *ops, size_t nops);

/* decide.c */
void flush_decide_vm(struct flush_job *j, int vmi);

#endif
