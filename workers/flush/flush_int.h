/*
 * flush_int.h: internals shared by the files of the flush job (flush_req.c: requests
 * to zk-election; flush_vm.c: one VM's reads, waits and writes; flush_decide.c: what
 * to do with a VM; flush_job.c: the job's life and public API). Not for other roles.
 */
#ifndef FLUSH_INT_H
#define FLUSH_INT_H

#include <stdint.h>
#include <stddef.h>

#include "evloop.h"
#include "ipc.h"
#include "flush_job.h"

#define RC_NOT_CONNECTED (-1001)
#define RC_BAD_VERSION (-103)
#define RC_NO_NODE (-101)
#define RC_GARBAGE (-9999) /* our own code for a reply that does not parse */
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

struct freq {
	uint64_t id, gen, timer;
	unsigned vseq;
	int vmi, tag, attempts;
	uint32_t type, n;
	char **v; /* arguments after the reqid */
	struct flush_job *job;
	void (*cb)(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep);
	struct freq *next;
};

struct flush_job {
	struct ev_loop *loop;
	struct flush_params p;
	char node[64], selector[16];
	struct flush_io io;
	uint64_t gen, next_id;
	char idprefix[16]; /* differs per job instance: a restarted worker ignores replies
			    * meant for its predecessor */
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
	struct freq *reqs;
	void (*stop_done)(void *);
	void *stop_arg;
	uint64_t stop_timer, final_timer;
	char *status_buf[6];
};


typedef void (*req_cb)(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep);

/* shared between the flush_*.c files */
const char *fji_kind_name(enum kind k);
int fji_is_transient(const char *state);
int fji_req_get(struct flush_job *j, int vmi, int tag, req_cb cb, const char *path);
int fji_req_issue(struct flush_job *j, uint32_t type, int vmi, int tag, req_cb cb,
		     const char *const *args, uint32_t n);
void fji_count_vm(struct flush_job *j, struct fvm *vm);
void fji_free_nodes(struct fvm *vm);
void fji_notify_status(struct flush_job *j);
void fji_pump(struct flush_job *j);
void fji_reqs_drop_all(struct flush_job *j);
void fji_vm_clear(struct fvm *vm);
void fji_vm_decide(struct flush_job *j, int vmi);
void fji_vm_finish(struct flush_job *j, int vmi, int moved, const char *why);
void fji_vm_read(struct flush_job *j, int vmi);
void fji_vm_settle(struct flush_job *j, int vmi);
void fji_vm_start_wait(struct flush_job *j, int vmi, enum vwait w);
void fji_vm_write(struct flush_job *j, int vmi, int tag, const char *const *ops, size_t nops);

#endif
