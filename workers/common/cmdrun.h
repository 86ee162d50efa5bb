/*
 * cmdrun.h: one external command run by a worker (fence: ipmitool; api-units:
 * systemctl, patronictl) without blocking the worker's loop: its own process group,
 * an empty stdin, stdout+stderr captured through the loop, a deadline that kills
 * the whole group, the exit reaped after the output closes.
 */
#ifndef PVC_CMDRUN_H
#define PVC_CMDRUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "evloop.h"

#define CMDRUN_OUT_MAX 1024 /* output kept per command (log lines, status parsing) */

struct cmdrun;
typedef void (*cmdrun_done_fn)(struct cmdrun *c, void *arg);

struct cmdrun_spec {
	const char *who;         /* the worker, in log lines and descriptions ("fence") */
	const char *const *argv;
	char *const *envp;       /* the command's whole environment */
	int search_path;         /* argv[0] looked up in the worker's PATH (else absolute) */
	int keep_tail;           /* keep the last CMDRUN_OUT_MAX bytes (else the first) */
	unsigned timeout_ms;
};

struct cmdrun {
	struct ev_loop *loop;
	const char *who;
	pid_t pid;
	int fd;                  /* read end of the command's output, -1 when closed */
	uint64_t started_ms, deadline_ms;
	uint64_t timer;          /* the deadline, then reap polling */
	int active;              /* started, `done` not yet called */
	int exited, timed_out, aborted;
	int status;              /* waitpid status when exited, -1 unknown */
	int keep_tail;
	char argv0[64];          /* for log lines */
	char out[CMDRUN_OUT_MAX]; /* NUL-terminated */
	size_t outlen;
	cmdrun_done_fn done;
	void *arg;
};

/* Start the command. `done` runs once, from the loop (not after cmdrun_abort()).
 * 0, or -1 with nothing left running. */
int cmdrun_start(struct cmdrun *c, struct ev_loop *loop, const struct cmdrun_spec *spec,
		 cmdrun_done_fn done, void *arg);
/* Kill a running command and its group at once (cancel, shutdown); no `done`. */
void cmdrun_abort(struct cmdrun *c);
/* 1 if the command exited with status 0 before its deadline. */
int cmdrun_ok(const struct cmdrun *c);
/* cmdrun_describe_status() of the finished command. */
void cmdrun_describe(const struct cmdrun *c, char *buf, size_t size);
/* "exit 0 after N ms", "timeout after N ms (process group killed)", "killed by the
 * seccomp filter (SIGSYS) ..." (`who` names the worker whose allow-list it is). */
void cmdrun_describe_status(const char *who, int status, int timed_out,
			    unsigned long long took_ms, char *buf, size_t size);
/* Append to a NUL-terminated buffer of `size` bytes, keeping the newest bytes. */
void cmdrun_tail_append(char *buf, size_t size, size_t *lenp, const char *data, size_t n);

#endif
