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

#include "worker.h"

#define FENCE_OUT_MAX 512     /* output kept per command (log and status parse) */
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
/* How a command ended, from its waitpid status (-1: unknown): "exit 1 after N ms",
 * "signal 9 after N ms", "timeout after N ms (...)", and for SIGSYS (or a shell's
 * exit 159) that the seccomp filter killed it and where the syscall is named. */
void fence_util_describe(int status, int timed_out, unsigned long long took_ms, char *buf,
			 size_t size);

/* ---- seccomp.c ---- */
/* The worker's seccomp allow-list beyond the common rules (inherited by ipmitool). */
int fence_seccomp_rules(void *scmp_ctx);

/* ---- run.c: one child process with a deadline ---- */

struct fence_cmd;
typedef void (*fence_cmd_done_fn)(struct fence_cmd *c, void *arg);

struct fence_cmd {
	struct ev_loop *loop;
	pid_t pid;
	int fd;               /* read end of the child's stdout+stderr, -1 when closed */
	uint64_t started_ms;
	uint64_t timer;       /* deadline, then reap polling */
	uint64_t deadline_ms;
	int eof, exited, timed_out;
	int status;           /* waitpid status when exited */
	char out[FENCE_OUT_MAX];
	size_t outlen;
	fence_cmd_done_fn done;
	void *arg;
};

/* Start `argv[0]` (searched in $PATH) with `argv`, in its own process group, with
 * an empty stdin, stdout+stderr captured, and an environment of PATH plus
 * IPMI_PASSWORD=`password` (never in argv). The command is killed (its whole
 * process group) after `timeout_ms`. `done` runs once, from the loop. 0 or -1. */
int fence_run_start(struct fence_cmd *c, struct ev_loop *loop, const char *const *argv,
		    const char *password, unsigned timeout_ms, fence_cmd_done_fn done, void *arg);
/* Kill a running command at once (shutdown). */
void fence_run_abort(struct fence_cmd *c);
/* 1 if the command exited with status 0. */
int fence_run_ok(const struct fence_cmd *c);
/* fence_util_describe() of the command: "exit 0 after N ms", "killed by the seccomp
 * filter (SIGSYS) ...", "timeout after N ms ..." */
void fence_run_describe(const struct fence_cmd *c, char *buf, size_t size);

#endif
