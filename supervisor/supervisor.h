/*
 * supervisor.h: the root process: spawns, watches, restarts and routes for the workers.
 * Its state and what its files share; control.c works without it (control.h).
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "control.h"
#include "evloop.h"
#include "ipc.h"
#include "pvc.h"

enum child_state {
	CHILD_DOWN = 0,   /* not started yet, or waiting for its restart timer */
	CHILD_STARTING,   /* spawned, no MSG_READY yet */
	CHILD_RUNNING,    /* READY received */
	CHILD_STOPPING,   /* MSG_SHUTDOWN sent */
	CHILD_STOPPED,    /* stopped for good (shutdown) */
};

/* Must exceed the largest crashloop_max the config accepts (1000): with fewer entries
 * the crash count in the window could never pass the threshold. */
#define CRASH_HISTORY 1024

/* bucket.c: a token bucket (rate tokens per second, at most burst), pure: the clock
 * is the caller's. */
struct sup_bucket {
	uint64_t milli;   /* tokens x 1000 */
	uint64_t at_ms;   /* last refill */
	uint32_t rate, burst;
	uint64_t dropped; /* refused takes since the last sup_bucket_dropped() */
};

struct child {
	enum pvc_role role;
	pid_t pid;
	enum child_state state;
	int wanted;                /* config_role_wanted(): 0 = this node never runs it */
	int program_fd;            /* O_PATH fd of the role's program (programs.c) */
	struct ipc_chan chan;
	uint64_t started_ms, ready_ms;
	uint64_t last_pong_ms;
	uint64_t ping_nonce;        /* last PING sent */
	uint64_t pong_nonce;        /* last PING answered (this incarnation) */
	unsigned restarts;         /* total restarts since the daemon started */
	unsigned consecutive;      /* crashes since the last healthy period (backoff) */
	uint64_t crash_ms[CRASH_HISTORY];
	unsigned ncrash;           /* entries used in crash_ms (ring) */
	uint64_t restart_timer;
	uint64_t stop_timer;
	char **status;             /* last MSG_STATUS lines */
	uint32_t nstatus;
	int shutdown_done;         /* phase acknowledged */
	const char *last_exit;     /* text for status */
	char last_exit_buf[64];
	/* quota.c: what this role may send and have logged; kept across restarts, so
	 * that a worker cannot earn a fresh burst by crashing */
	int quota_init;
	struct sup_bucket q_frames, q_logs, q_output;
	uint64_t quota_timer;      /* pending report of drops */
};

struct supervisor {
	struct pvc_config cfg;
	struct ev_loop *loop;
	struct child kids[ROLE_COUNT];
	int sigfd;
	struct control *ctl;
	struct ipc_zk_session zk_session;
	uint64_t start_ms;
	int stopping;      /* orderly shutdown in progress */
	int stop_step;
	int exit_code;
	uint64_t step_timer;
	int notified_ready;
	uint64_t watchdog_usec;
};

/* The supervisor a child belongs to (kids[] is part of it). */
static inline struct supervisor *sup_of_child(struct child *k)
{
	return (struct supervisor *)((char *)(k - k->role) - offsetof(struct supervisor, kids));
}

/* supervisor.c */
int supervisor_main(const struct pvc_config *cfg);

/* child.c: a worker's channel, seen from the supervisor */
void sup_child_update_events(struct supervisor *sv, struct child *k);
int sup_child_send(struct supervisor *sv, struct child *k, uint32_t type, const void *data,
		   size_t len);
int sup_child_forward(struct supervisor *sv, enum pvc_role dest, const struct ipc_msg *msg);
void sup_child_kill(struct supervisor *sv, struct child *k, const char *why);
void sup_child_clear_status(struct child *k);

/* spawn.c: start a worker; after its death, restart it with backoff or escalate */
void sup_spawn_start(struct supervisor *sv, struct child *k);
void sup_spawn_reap(struct supervisor *sv);

/* console.c: MSG_VM_CONSOLE_OPEN from vm-manager, answered with MSG_VM_CONSOLE_FD and
 * the read-only descriptor of <console_log_directory>/<name>.log */
void sup_console_open(struct supervisor *sv, struct child *k, const struct ipc_msg *msg);
/* Opens <dir>/<name>.log read-only for vm-manager: 0 and *fd, or an errno (EINVAL for
 * a name that leaves or hides in dir, a symlink, anything but a regular file, or a
 * file with several names). */
int sup_console_open_log(const char *dir, const char *name, size_t namelen, int *fd);

/* metasock.c: MSG_META_LISTEN_OPEN from the metadata worker, answered with
 * MSG_META_LISTEN_FD and a listening TCP socket on 169.254.169.254:80 (IP_FREEBIND) */
void sup_meta_listen_open(struct supervisor *sv, struct child *k);
/* The socket itself: 0 and *fd (listening, non-blocking), or an errno. */
int sup_meta_listen_socket(const char *addr, int port, int *fd);

/* route.c: frames from a worker (the event callback of its channel) */
void sup_route_event(struct ev_loop *loop, int fd, short revents, void *arg);
void sup_route_log_line(struct child *k, const struct ipc_msg *msg);

/* bucket.c */
void sup_bucket_init(struct sup_bucket *b, uint32_t rate_per_s, uint32_t burst, uint64_t now_ms);
/* 1: `cost` tokens taken; 0: not enough, counted as dropped */
int sup_bucket_take(struct sup_bucket *b, uint64_t now_ms, uint32_t cost);
/* the drops since the last call (and reset) */
uint64_t sup_bucket_dropped(struct sup_bucket *b);

/* wtext.c: a worker's text with control bytes (ESC, newline, C1...) as \xNN, cut to
 * dstsz with "..."; returns the length written (dst always terminated) */
size_t sup_wtext_clean(char *dst, size_t dstsz, const char *src, size_t srclen);

/* quota.c: per-role budgets (frames, log lines, stdout/stderr lines); each returns 1
 * if the item may pass, 0 if it is dropped (counted, reported once a second) */
enum sup_quota_kind { SUP_QUOTA_FRAME, SUP_QUOTA_LOG, SUP_QUOTA_OUTPUT };
int sup_quota_allow(struct supervisor *sv, struct child *k, enum sup_quota_kind kind);
/* A warning about a worker, charged to its log budget. */
void sup_quota_warn(struct supervisor *sv, struct child *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* outpipe.c: a worker's fds 1 and 2: a pipe whose lines the supervisor logs */
int sup_outpipe_open(int *write_end, int *read_end);
void sup_outpipe_watch(struct supervisor *sv, enum pvc_role role, int read_end);

/* heartbeat.c: ping the workers, kill the hung ones, feed systemd's watchdog */
void sup_heartbeat_start(struct supervisor *sv);

/* shutdown.c: the orderly stop */
void sup_shutdown_begin(struct supervisor *sv, int exit_code, const char *why);
void sup_shutdown_step(struct supervisor *sv);

/* status.c: the lines of pvcctl status */
void sup_status_fill(struct supervisor *sv, struct ipc_strv_buf *b);

/* programs.c: open every worker program at start (0, or -1 logged) */
int programs_open(struct supervisor *sv);
void programs_close(struct supervisor *sv);

/* policy.c */
#include "policy.h" /* policy_allowed(), in lib/ since the path table joined it */

/* notify.c: systemd readiness/watchdog through $NOTIFY_SOCKET (no-op without it) */
void notify_send(const char *state);
uint64_t notify_watchdog_usec(void);

/* priv.c: what the supervisor itself keeps */
int priv_supervisor_limit(void);

#endif
