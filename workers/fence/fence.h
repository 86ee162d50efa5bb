/*
 * fence.h: the fence worker's pieces (the files of workers/fence). The worker runs
 * ipmitool for zk-election (docs/fencing.md); it holds no ZooKeeper session and
 * sees the BMC password only for the duration of one request.
 */
#ifndef FENCE_H
#define FENCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cmdrun.h"
#include "worker.h"

#define FENCE_ID_MAX 40

/* ---- util.c: pure helpers (unit-tested) ---- */

/* 1 if `id` is a request id we accept: 1..39 chars of [A-Za-z0-9-_.]. */
int fence_util_valid_id(const char *id);
/* 1 if `s` can be passed as ipmitool's -H or -U value: 1..255 printable ASCII
 * characters, no blank, not starting with '-' (it would be read as an option). */
int fence_util_valid_arg(const char *s);
/* 1 if a line of the output of `chassis power status`, trailing blanks stripped, is
 * exactly "Chassis Power is on" (the reference forgot to strip, ref §12.2 #20; the
 * other lines are stderr noise some BMCs cause). */
int fence_util_status_is_on(const char *out);
/* Make `buf` (NUL-terminated) safe to log: every occurrence of `secret` (if
 * non-empty) becomes "***", control characters become spaces, trailing blanks go.
 * In place; the result is never longer than the input. */
void fence_util_scrub(char *buf, const char *secret);

/* ---- seccomp.c ---- */
/* The worker's seccomp allow-list beyond the common rules (inherited by ipmitool). */
int fence_seccomp_rules(void *scmp_ctx);

/* ---- run.c: ipmitool through cmdrun (workers/common/cmdrun.h) ---- */

/* Start `argv[0]` (searched in $PATH) with an environment of PATH plus
 * IPMI_PASSWORD=`password` (never in argv), killed with its process group after
 * `timeout_ms`; the first CMDRUN_OUT_MAX bytes of its output are kept. 0 or -1. */
int fence_run_start(struct cmdrun *c, struct ev_loop *loop, const char *const *argv,
		    const char *password, unsigned timeout_ms, cmdrun_done_fn done, void *arg);

#endif
