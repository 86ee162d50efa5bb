/*
 * api.h: the api-units worker's pieces (the files of workers/api). The worker
 * makes the PVC API follow the primary coordinator as the reference does
 * (NodeInstance.become_primary / become_secondary): on takeover it moves the
 * Patroni leader here (patronictl switchover) and then starts pvcapid.service and
 * pvcapid-worker.service; on relinquish it stops them. It runs as its own user
 * without any capability (systemctl is allowed by a polkit rule, docs/api-units.md).
 */
#ifndef API_H
#define API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cmdrun.h"
#include "worker.h"

#define API_PATRONI_TRIES 5       /* as the reference: 5 tries ... */
#define API_PATRONI_RETRY_MS 5000 /* ... 5 s apart */

/* ---- plan.c: what to run next (pure, unit-tested) ---- */

enum api_step {
	API_STEP_NONE = 0,
	API_STEP_PATRONI,      /* patronictl ... switchover --candidate <node> --force pvc */
	API_STEP_START_API,    /* systemctl start pvcapid.service */
	API_STEP_START_WORKER, /* systemctl start pvcapid-worker.service */
	API_STEP_STOP_API,     /* systemctl stop pvcapid.service */
	API_STEP_STOP_WORKER,  /* systemctl stop pvcapid-worker.service */
};

/* How a step ended, as the plan needs it. */
enum api_result {
	API_RES_OK,    /* done (or failed for good: logged, go on) */
	API_RES_RETRY, /* Patroni refused the switchover: try again later */
};

/* What api_plan_instruct() asks of the caller. */
enum api_action {
	API_ACT_NONE,   /* nothing new */
	API_ACT_RUN,    /* a new sequence: call api_plan_next() */
	API_ACT_CANCEL, /* a new sequence, and the running command belongs to the old
			 * one: kill it (its api_plan_done() is then ignored) */
};

#define API_PLAN_MAX_STEPS 3

struct api_plan {
	int want;              /* last instruction: -1 none yet, 0 secondary, 1 primary */
	enum api_step steps[API_PLAN_MAX_STEPS];
	int nsteps, pos;
	uint64_t gen;          /* increases with every new sequence */
	uint64_t running_gen;  /* sequence of the running step */
	int running;           /* a command of ours is running */
	int patroni_tries;     /* tries of the current switchover */
};

void api_plan_init(struct api_plan *p);
/* zk-election says primary (1) or not (0). A relinquish replaces a takeover in
 * progress (and the reverse): the last instruction always wins. A first "not
 * primary" (the worker just started on a secondary) runs nothing: the units were
 * never started by us. */
enum api_action api_plan_instruct(struct api_plan *p, int primary);
/* The step to run now (and mark running), or API_STEP_NONE: one is running, or
 * the sequence is over. */
enum api_step api_plan_next(struct api_plan *p);
/* The running step ended. Returns the delay in ms before api_plan_next() (0: at
 * once; API_PATRONI_RETRY_MS before another switchover try). */
unsigned api_plan_done(struct api_plan *p, enum api_result r);
/* 1 when no step is running or left (the state matches the last instruction). */
int api_plan_idle(const struct api_plan *p);
const char *api_plan_step_name(enum api_step s);

/* ---- util.c: pure helpers (unit-tested) ---- */

/* The reference's reading of patronictl's output (stdout+stderr): the last line
 * "Error: Switchover target and source are the same." means Patroni's leader is
 * already here (fine); a last line starting "Switchover failed," or "Error" means
 * try again; anything else is success. A non-zero exit status that matches
 * neither is also retried (the reference ignored the status). */
enum api_patroni_verdict { API_PATRONI_OK, API_PATRONI_SAME, API_PATRONI_RETRY };
enum api_patroni_verdict api_util_patroni_verdict(const char *out, int exit_ok);
/* Make `buf` one loggable line: control characters become spaces, runs of blanks
 * one space, leading/trailing blanks dropped. */
void api_util_oneline(char *buf);
/* 0 if `path` is a root-owned executable regular file nobody else may write;
 * else -1 with why (errno text or the fault) in `why`. */
int api_util_check_command(const char *path, char *why, size_t whylen);

/* ---- seccomp.c ---- */
int api_seccomp_rules(void *scmp_ctx);

/* ---- run.c: one command through cmdrun (workers/common/cmdrun.h) ---- */

/* Start the absolute path argv[0] with a fixed small environment, killed with its
 * process group after timeout_ms; the tail of its output is kept. `done` runs once,
 * from the loop (not after cmdrun_abort()). 0 or -1. */
int api_run_start(struct cmdrun *c, struct ev_loop *loop, const char *const *argv,
		  unsigned timeout_ms, cmdrun_done_fn done, void *arg);

/* ---- units.c ---- */
/* api_units_main() is declared in worker.h */

#endif
