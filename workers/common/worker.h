/*
 * worker.h: what every worker process shares (workers/common/worker.c).
 *
 * Life of a worker: the supervisor executes the role's own program (pvc-zk-election,
 * pvc-vm-manager, ...; see role_program()) with the socketpair on fd 3.
 * worker_start() receives MSG_CONFIG, names the process, routes log lines to the
 * supervisor and creates the event loop. The role then opens what it needs before
 * confinement (netlink sockets, ...), calls sandbox_enter()
 * (workers/common/sandbox.c), sends MSG_READY with worker_ready()
 * and runs the loop. worker.c answers MSG_PING itself and hands every other frame
 * to the role's dispatch function. EOF from the supervisor ends the worker.
 */
#ifndef WORKER_H
#define WORKER_H

#include "config.h"
#include "evloop.h"
#include "ipc.h"
#include "pvc.h"

struct worker;

typedef void (*worker_dispatch_fn)(struct worker *w, struct ipc_msg *msg);
/* MSG_SHUTDOWN with its phase; the role calls worker_shutdown_done() when finished
 * (possibly later, from a callback). */
typedef void (*worker_shutdown_fn)(struct worker *w, uint32_t phase);

struct worker {
	enum pvc_role role;
	struct pvc_config cfg;
	struct ev_loop *loop;
	struct ipc_chan sup;
	worker_dispatch_fn dispatch;
	worker_shutdown_fn shutdown;
	void *ctx;   /* the role's own state */
	int ready;
};

/* Receive the config (blocking, bounded) and set up logging and the loop.
 * Exits the process on failure. */
void worker_start(struct worker *w, enum pvc_role role, worker_dispatch_fn dispatch,
		  worker_shutdown_fn shutdown, void *ctx);
/* Send MSG_READY. */
void worker_ready(struct worker *w);
/* Queue a frame to the supervisor (routed on by the policy table) and flush. */
int worker_send(struct worker *w, uint32_t type, enum pvc_role dest, const void *data,
		size_t len);
int worker_send_strv(struct worker *w, uint32_t type, enum pvc_role dest,
		     const char *const *v, uint32_t n);
/* Replace this worker's status lines (pvcctl status). */
int worker_status(struct worker *w, const char *const *kv, uint32_t n);
void worker_shutdown_done(struct worker *w, uint32_t phase);
/* Run the loop; returns when the supervisor is gone or the role called ev_break(). */
int worker_run(struct worker *w);

/* The main() of every worker program (workers/<role>/main.c): refuses to run unless
 * started by the supervisor (fd PVC_WORKER_FD is a socket), closes every other
 * inherited fd, names the process after the role and calls role_main. */
int worker_program_main(enum pvc_role role, int argc, char **argv, int (*role_main)(void));

/* Role entry points (workers/<role>/); each returns the process exit status. */
int zk_election_main(void);
int vm_manager_main(void);
int net_router_main(void);
int flush_main(void);
int fence_main(void);
int api_units_main(void);
int ceph_main(void);
int metadata_main(void);
int dns_aggregator_main(void);

/* workers/common/sandbox.c */
struct sandbox_spec {
	const char *user;          /* switch to this user (and its group); NULL: stay */
	const char *extra_group;   /* also keep this supplementary group (e.g. "libvirt"), may be NULL */
	uint64_t keep_caps;        /* bitmask of CAP_* to keep effective+permitted (1ULL << CAP_X) */
	uint64_t ambient_caps;     /* subset of keep_caps raised as ambient (kept across
				    * execve of helpers) */
	int allow_fork;            /* RLIMIT_NPROC stays unlimited when set */
	const char *const *rw_paths; /* Landlock: paths that stay readable+writable (NULL-terminated) */
	const char *const *ro_paths; /* Landlock: paths that stay readable */
	const char *const *rx_paths; /* Landlock: paths that stay readable and executable */
	int (*seccomp_rules)(void *scmp_ctx); /* add the role's allow rules to the libseccomp filter */
};
/* Apply confinement in this order: close stray fds, rlimits, groups+uid with kept
 * caps, bounding set, no_new_privs, Landlock, seccomp (default: kill process).
 * Returns 0, or -1 with the reason logged (the caller exits PVC_WORKER_EXIT_PERMANENT). */
int sandbox_enter(const struct sandbox_spec *spec);
/* Rules every worker needs (memory, time, poll, IPC socket I/O, exit...). */
int sandbox_rules_common(void *scmp_ctx);
/* Close every fd above PVC_WORKER_FD (first thing a re-executed worker does). */
void sandbox_close_inherited(void);
#ifdef PVC_TEST_HOOKS
/* Test builds only: attempt the forbidden action named by $PVC_TEST_FORBIDDEN. */
void sandbox_test_hook(enum pvc_role role);
#endif

#endif
