/*
 * supervisor.h: the root process: spawns, watches, restarts and routes for the workers.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

#include <sys/types.h>

#include "config.h"
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

struct child {
	enum pvc_role role;
	pid_t pid;
	enum child_state state;
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
};

struct supervisor;

struct ctl_client {
	int id;
	struct supervisor *sv;
	struct ipc_chan chan;
	struct ctl_client *next;
};

struct supervisor {
	struct pvc_config cfg;
	struct ev_loop *loop;
	struct child kids[ROLE_COUNT];
	int sigfd;
	int ctl_fd;
	char ctl_path[CFG_PATH_MAX + 32];
	struct ctl_client *clients;
	int next_client_id;
	struct ipc_zk_session zk_session;
	uint64_t start_ms;
	int stopping;      /* orderly shutdown in progress */
	int stop_step;
	int exit_code;
	uint64_t step_timer;
	int notified_ready;
	uint64_t watchdog_usec;
};

/* supervisor.c */
int supervisor_main(const struct pvc_config *cfg);
void supervisor_begin_shutdown(struct supervisor *sv, int exit_code, const char *why);

/* programs.c: open every worker program at start (0, or -1 logged) */
int programs_open(struct supervisor *sv);
void programs_close(struct supervisor *sv);

/* policy.c */
int policy_allowed(uint32_t type, enum pvc_role from, enum pvc_role to);

/* control.c */
int control_open(struct supervisor *sv);
void control_close(struct supervisor *sv);
/* A ZK_REPLY addressed to ROLE_CTL: hand it to the client named in its reqid. */
void control_route_reply(struct supervisor *sv, const struct ipc_msg *msg);

/* notify.c: systemd readiness/watchdog through $NOTIFY_SOCKET (no-op without it) */
void notify_send(const char *state);
uint64_t notify_watchdog_usec(void);

/* priv.c: what the supervisor itself keeps */
int priv_supervisor_limit(void);

#endif
