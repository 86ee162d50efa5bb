/*
 * supervisor.c: the root process. It starts the four workers, answers for their
 * health (heartbeat), restarts any one that dies or hangs (alone, with backoff),
 * routes their frames through the policy table, and stops everything in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

#define STARTUP_TIMEOUT_MS 15000
#define RESTART_FIRST_BACKOFF_MS 100

extern char **environ;

static void sup_child_event(struct ev_loop *loop, int fd, short revents, void *arg);
static void sup_spawn(struct supervisor *sv, struct child *k);
static void sup_shutdown_step(struct supervisor *sv);
static void sup_log_line(struct child *k, const struct ipc_msg *msg);

/* A worker's only view of the supervisor's environment: nothing that could carry a
 * secret, just what libraries and tests legitimately need. */
static char **worker_environment(void)
{
	static const char *const keep[] = {"PATH=", "LANG=", "LC_ALL=", "TZ=",
					   "PVC_TEST_", "PVC_SECCOMP_LOG=",
					   "PVCT_WORK=", /* lets the test runner find leftovers */
					   NULL};
	size_t n = 0, cap = 16;
	char **env = calloc(cap, sizeof(char *));

	if (env == NULL)
		return NULL;
	for (char **e = environ; *e; e++) {
		for (size_t i = 0; keep[i]; i++) {
			if (strncmp(*e, keep[i], strlen(keep[i])) == 0) {
				if (n + 2 > cap) {
					char **ne = realloc(env, (cap *= 2) * sizeof(char *));
					if (ne == NULL) {
						free(env);
						return NULL;
					}
					env = ne;
				}
				env[n++] = *e;
				break;
			}
		}
	}
	env[n] = NULL;
	return env;
}

static void child_clear_status(struct child *k)
{
	for (uint32_t i = 0; i < k->nstatus; i++)
		free(k->status[i]);
	free(k->status);
	k->status = NULL;
	k->nstatus = 0;
}

static void sup_update_events(struct supervisor *sv, struct child *k)
{
	short ev = POLLIN;

	if (k->chan.fd < 0)
		return;
	if (ipc_chan_pending(&k->chan))
		ev |= POLLOUT;
	ev_mod_fd(sv->loop, k->chan.fd, ev);
}

/* Queue to a worker; a frame for a worker that is down is dropped (it re-learns its
 * desired state through its HELLO when it is back). */
static int sup_send(struct supervisor *sv, struct child *k, uint32_t type, const void *data,
		    size_t len)
{
	if (k->chan.fd < 0 || k->state == CHILD_DOWN || k->state == CHILD_STOPPED)
		return -1;
	if (ipc_send(&k->chan, type, k->role, data, len, -1) != 0) {
		log_warn("queueing %s for %s", ipc_type_name(type), role_name(k->role));
		return -1;
	}
	if (ipc_chan_flush(&k->chan) < 0)
		return -1;
	sup_update_events(sv, k);
	return 0;
}

int sup_forward_to(struct supervisor *sv, enum pvc_role dest, const struct ipc_msg *msg);

int sup_forward_to(struct supervisor *sv, enum pvc_role dest, const struct ipc_msg *msg)
{
	struct child *k = &sv->kids[dest];

	if (k->chan.fd < 0 || (k->state != CHILD_RUNNING && k->state != CHILD_STARTING &&
			       k->state != CHILD_STOPPING)) {
		log_debug("dropped %s for %s: worker not running", ipc_type_name(msg->hdr.type),
			  role_name(dest));
		return -1;
	}
	if (ipc_forward(&k->chan, msg) != 0) {
		log_warn("forwarding %s to %s", ipc_type_name(msg->hdr.type), role_name(dest));
		return -1;
	}
	if (ipc_chan_flush(&k->chan) < 0)
		return -1;
	sup_update_events(sv, k);
	return 0;
}

/* ---- spawning and restarting ------------------------------------------------- */

static void sup_restart_timer(struct ev_loop *loop, void *arg)
{
	struct child *k = arg;
	struct supervisor *sv = (struct supervisor *)((char *)(k - k->role) -
						      offsetof(struct supervisor, kids));

	k->restart_timer = 0;
	if (sv->stopping || k->state != CHILD_DOWN)
		return;
	sup_spawn(sv, k);
}

static void sup_spawn(struct supervisor *sv, struct child *k)
{
	int sp[2];
	pid_t pid;
	struct pvc_config wcfg;
	char **env;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
		log_err("socketpair for %s", role_name(k->role));
		goto retry;
	}
	env = worker_environment();
	if (env == NULL) {
		close(sp[0]);
		close(sp[1]);
		goto retry;
	}
	pid = fork();
	if (pid < 0) {
		log_err("fork of %s", role_name(k->role));
		free(env);
		close(sp[0]);
		close(sp[1]);
		goto retry;
	}
	if (pid == 0) {
		sigset_t none;
		char *argv[] = {(char *)role_program(k->role), NULL};
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sp[1], PVC_WORKER_FD) < 0)
			_exit(127);
		/* dup2 onto itself keeps SOCK_CLOEXEC: the exec would close the channel */
		if (sp[1] == PVC_WORKER_FD && fcntl(PVC_WORKER_FD, F_SETFD, 0) != 0)
			_exit(127);
		/* A fresh address space: nothing of the supervisor's memory (the whole
		 * config, other roles' state) survives into the worker. */
		execveat(k->program_fd, "", argv, env, AT_EMPTY_PATH);
		_exit(127);
	}
	free(env);
	close(sp[1]);
	if (set_nonblock(sp[0]) != 0)
		log_warn("non-blocking socket for %s", role_name(k->role));
	ipc_chan_init(&k->chan, sp[0], ROLE_SUPERVISOR);
	k->pid = pid;
	k->state = CHILD_STARTING;
	k->started_ms = mono_ms();
	k->ready_ms = 0;
	k->last_pong_ms = k->started_ms;
	k->pong_nonce = k->ping_nonce; /* only pings to this incarnation count */
	k->shutdown_done = 0;
	child_clear_status(k);
	if (ev_add_fd(sv->loop, sp[0], POLLIN, sup_child_event, k) != 0)
		log_errx("cannot watch %s's socket", role_name(k->role));
	config_for_role(&sv->cfg, k->role, &wcfg);
	if (sup_send(sv, k, MSG_CONFIG, &wcfg, sizeof(wcfg)) != 0)
		log_warnx("could not send the configuration to %s", role_name(k->role));
	explicit_bzero(&wcfg, sizeof(wcfg));
	if (k->role == ROLE_ZK && sv->zk_session.valid)
		(void)sup_send(sv, k, MSG_ZK_SESSION, &sv->zk_session, sizeof(sv->zk_session));
	log_sys("started %s (pid %d)", role_name(k->role), (int)pid);
	return;
retry:
	k->state = CHILD_DOWN;
	k->restart_timer = ev_timer(sv->loop, 1000, sup_restart_timer, k);
}

static unsigned crashes_in_window(struct child *k, uint64_t now, uint64_t window_ms)
{
	unsigned n = 0, used = k->ncrash < CRASH_HISTORY ? k->ncrash : CRASH_HISTORY;

	for (unsigned i = 0; i < used; i++)
		if (now - k->crash_ms[i] <= window_ms)
			n++;
	return n;
}

/* The worker is dead, but what it wrote before dying may still sit in the socket:
 * usually its last words (the fatal error that made it exit). SIGCHLD is often read
 * in the same poll round as that data, before the channel's callback runs; log those
 * lines before the channel goes. Nothing else from a dead worker is acted upon. */
static void sup_drain_dead(struct child *k)
{
	for (int round = 0; round < 64; round++) {
		ssize_t r = ipc_chan_read(&k->chan);
		for (;;) {
			struct ipc_msg msg;
			int rc = ipc_chan_get(&k->chan, &msg, NULL);
			if (rc == IPC_DECODE_ERROR)
				return;
			if (rc == IPC_DECODE_MORE)
				break;
			if (msg.hdr.type == MSG_LOG && msg.hdr.sender == k->role &&
			    msg.hdr.dest == ROLE_SUPERVISOR)
				sup_log_line(k, &msg);
			ipc_msg_free(&msg);
		}
		if (r <= 0)
			return; /* EOF, nothing more buffered, or error */
	}
}

static void sup_child_gone(struct supervisor *sv, struct child *k, int wstatus)
{
	uint64_t now = mono_ms();
	uint64_t delay;
	int permanent = 0;

	if (WIFEXITED(wstatus)) {
		snprintf(k->last_exit_buf, sizeof(k->last_exit_buf), "exit %d",
			 WEXITSTATUS(wstatus));
		permanent = WEXITSTATUS(wstatus) == PVC_WORKER_EXIT_PERMANENT;
	} else if (WIFSIGNALED(wstatus)) {
		snprintf(k->last_exit_buf, sizeof(k->last_exit_buf), "signal %d",
			 WTERMSIG(wstatus));
	} else {
		snprintf(k->last_exit_buf, sizeof(k->last_exit_buf), "status 0x%x", wstatus);
	}
	k->last_exit = k->last_exit_buf;
	if (k->chan.fd >= 0) {
		sup_drain_dead(k);
		ev_del_fd(sv->loop, k->chan.fd);
		ipc_chan_close(&k->chan);
	}
	if (k->stop_timer) {
		ev_timer_cancel(sv->loop, k->stop_timer);
		k->stop_timer = 0;
	}
	if (sv->stopping || k->state == CHILD_STOPPING || k->state == CHILD_STOPPED) {
		k->pid = 0;
		log_sys("%s stopped (%s)", role_name(k->role), k->last_exit);
		k->state = CHILD_STOPPED;
		if (sv->stopping)
			sup_shutdown_step(sv);
		return;
	}
	/* A worker that stayed healthy long enough starts a new backoff series. */
	if (k->ready_ms && now - k->ready_ms >= (uint64_t)sv->cfg.healthy_reset_s * 1000u)
		k->consecutive = 0;
	k->crash_ms[k->ncrash % CRASH_HISTORY] = now;
	k->ncrash++;
	k->consecutive++;
	log_errx("worker %s (pid %d) died: %s", role_name(k->role), (int)k->pid, k->last_exit);
	k->pid = 0;
	if (permanent) {
		k->state = CHILD_STOPPED;
		supervisor_begin_shutdown(sv, PVC_EXIT_ESCALATED,
					  "a worker cannot run with this configuration or privilege");
		return;
	}
	if (crashes_in_window(k, now, (uint64_t)sv->cfg.crashloop_window_s * 1000u) >
	    (unsigned)sv->cfg.crashloop_max) {
		char why[128];
		snprintf(why, sizeof(why), "%s crashed more than %d times in %d s",
			 role_name(k->role), sv->cfg.crashloop_max, sv->cfg.crashloop_window_s);
		k->state = CHILD_STOPPED;
		supervisor_begin_shutdown(sv, PVC_EXIT_ESCALATED, why);
		return;
	}
	/* First restart at once, then 100 ms doubling up to the cap. */
	if (k->consecutive <= 1) {
		delay = 0;
	} else {
		delay = RESTART_FIRST_BACKOFF_MS;
		for (unsigned i = 2; i < k->consecutive && delay < (uint64_t)sv->cfg.restart_backoff_max_ms; i++)
			delay *= 2;
		if (delay > (uint64_t)sv->cfg.restart_backoff_max_ms)
			delay = (uint64_t)sv->cfg.restart_backoff_max_ms;
	}
	k->restarts++;
	k->state = CHILD_DOWN;
	if (delay == 0) {
		sup_spawn(sv, k);
	} else {
		log_warnx("restarting %s in %llu ms (crash %u in a row)", role_name(k->role),
			  (unsigned long long)delay, k->consecutive);
		k->restart_timer = ev_timer(sv->loop, delay, sup_restart_timer, k);
	}
}

static void sup_reap(struct supervisor *sv)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			return;
		for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
			struct child *k = &sv->kids[r];
			if (k->pid == pid) {
				sup_child_gone(sv, k, st);
				break;
			}
		}
	}
}

/* Cut off a worker that broke the protocol: kill it; the reaper restarts it. */
static void sup_kill_child(struct supervisor *sv, struct child *k, const char *why)
{
	log_errx("killing %s (pid %d): %s", role_name(k->role), (int)k->pid, why);
	if (k->chan.fd >= 0) {
		ev_del_fd(sv->loop, k->chan.fd);
		ipc_chan_close(&k->chan);
	}
	if (k->pid > 0 && kill(k->pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("kill %d", (int)k->pid);
}

/* ---- frames from workers ------------------------------------------------------ */

static void sup_store_status(struct child *k, const struct ipc_msg *msg)
{
	struct ipc_strv sv;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, NULL) != 0)
		return;
	child_clear_status(k);
	k->status = sv.v;
	k->nstatus = sv.n;
	free(sv.lens);
}

/* A worker's text must stay on its own line: a newline (from a libvirt or ZooKeeper
 * error text, or a compromised worker) would forge lines that seem to come from the
 * supervisor or another role. ESC stays: the reference colours parts of messages. */
static void sanitize_line(char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t' && *s != '\033') || *s == 0x7f)
			*s = ' ';
}

static void sup_log_line(struct child *k, const struct ipc_msg *msg)
{
	struct ipc_strv sv;
	char prefix[160];

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, NULL) != 0)
		return;
	if (sv.n == 3 && sv.lens[0] == 1) {
		/* only the reference's state letters (and debug); anything else is info */
		if (strchr("oewtis0d", sv.v[0][0]) == NULL)
			sv.v[0][0] = 'i';
		sanitize_line(sv.v[1]);
		sanitize_line(sv.v[2]);
		/* the role name is always part of the prefix: operators see who spoke */
		if (sv.v[1][0] && strcmp(sv.v[1], role_name(k->role)) != 0)
			snprintf(prefix, sizeof(prefix), "%s: %s", role_name(k->role), sv.v[1]);
		else
			snprintf(prefix, sizeof(prefix), "%s", role_name(k->role));
		log_write_line(sv.v[0][0], prefix, sv.v[2]);
	}
	ipc_strv_free(&sv);
}

static int all_workers_ready(struct supervisor *sv)
{
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++)
		if (sv->kids[r].state != CHILD_RUNNING)
			return 0;
	return 1;
}

static void sup_dispatch_worker(struct supervisor *sv, struct child *k, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case MSG_READY:
		/* Only a starting worker becomes ready: a READY from a worker being stopped
		 * would put it back to RUNNING and make the shutdown sequence ask it again. */
		if (k->state != CHILD_STARTING) {
			log_warnx("unexpected MSG_READY from %s", role_name(k->role));
			break;
		}
		k->state = CHILD_RUNNING;
		k->ready_ms = mono_ms();
		k->last_pong_ms = k->ready_ms;
		log_ok("%s ready (pid %d, %llu ms after start)", role_name(k->role), (int)k->pid,
		       (unsigned long long)(k->ready_ms - k->started_ms));
		if (!sv->notified_ready && all_workers_ready(sv)) {
			sv->notified_ready = 1;
			notify_send("READY=1\nSTATUS=all workers running");
			log_sys("all workers running");
		}
		break;
	case MSG_PONG: {
		struct ipc_u64 v;
		memcpy(&v, msg->data, sizeof(v));
		/* Any ping of this incarnation not answered yet proves the loop runs now: a
		 * worker whose answers take longer than one heartbeat interval (but less
		 * than hang_timeout_ms) is slow, not hung. A nonce never sent is ignored. */
		if (v.value > k->pong_nonce && v.value <= k->ping_nonce) {
			k->pong_nonce = v.value;
			k->last_pong_ms = mono_ms();
		}
		break;
	}
	case MSG_STATUS:
		sup_store_status(k, msg);
		break;
	case MSG_LOG:
		sup_log_line(k, msg);
		break;
	case MSG_ZK_SESSION:
		memcpy(&sv->zk_session, msg->data, sizeof(sv->zk_session));
		log_info("zk-election session 0x%llx saved for restarts",
			 (unsigned long long)sv->zk_session.client_id);
		break;
	case MSG_SHUTDOWN_DONE:
		k->shutdown_done = 1;
		if (sv->stopping)
			sup_shutdown_step(sv);
		break;
	default:
		log_warnx("unexpected %s from %s", ipc_type_name(msg->hdr.type), role_name(k->role));
		break;
	}
}

static void sup_route(struct supervisor *sv, struct child *k, struct ipc_msg *msg)
{
	enum pvc_role dest = msg->hdr.dest;

	if (!policy_allowed(msg->hdr.type, k->role, dest)) {
		log_warnx("dropped %s from %s to %s: not allowed by the policy table",
			  ipc_type_name(msg->hdr.type), role_name(k->role), role_name(dest));
		return;
	}
	if (msg->hdr.flags & IPC_F_FD) {
		/* no message a worker may send carries a descriptor */
		log_warnx("dropped %s from %s: unexpected file descriptor",
			  ipc_type_name(msg->hdr.type), role_name(k->role));
		return;
	}
	if (dest == ROLE_SUPERVISOR)
		sup_dispatch_worker(sv, k, msg);
	else if (dest == ROLE_CTL)
		control_route_reply(sv, msg);
	else
		(void)sup_forward_to(sv, dest, msg);
}

static void sup_child_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct child *k = arg;
	struct supervisor *sv = (struct supervisor *)((char *)(k - k->role) -
						      offsetof(struct supervisor, kids));

	if (revents & POLLOUT) {
		if (ipc_chan_flush(&k->chan) < 0) {
			/* the worker is gone; SIGCHLD does the rest */
			ev_del_fd(loop, fd);
			ipc_chan_close(&k->chan);
			return;
		}
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t r = ipc_chan_read(&k->chan);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			ev_del_fd(loop, fd);
			ipc_chan_close(&k->chan);
			return;
		}
		for (;;) {
			struct ipc_msg msg;
			const char *err = NULL;
			int rc = ipc_chan_get(&k->chan, &msg, &err);
			if (rc == IPC_DECODE_MORE)
				break;
			if (rc == IPC_DECODE_ERROR) {
				char why[160];
				snprintf(why, sizeof(why), "malformed frame: %s", err ? err : "?");
				sup_kill_child(sv, k, why);
				return;
			}
			if (msg.hdr.sender != k->role) {
				ipc_msg_free(&msg);
				sup_kill_child(sv, k, "frame claims to come from another role");
				return;
			}
			sup_route(sv, k, &msg);
			ipc_msg_free(&msg);
			if (k->chan.fd < 0)
				return;
		}
	}
	sup_update_events(sv, k);
}

/* ---- heartbeat and watchdog ---------------------------------------------------- */

static void sup_heartbeat(struct ev_loop *loop, void *arg)
{
	struct supervisor *sv = arg;
	uint64_t now = mono_ms();
	int healthy = 1;

	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		struct child *k = &sv->kids[r];
		if (k->state == CHILD_STARTING && now - k->started_ms > STARTUP_TIMEOUT_MS) {
			sup_kill_child(sv, k, "no READY within the start-up timeout");
			healthy = 0;
			continue;
		}
		/* A worker waiting for its restart (backoff up to restart_backoff_max_ms,
		 * as long as WatchdogSec by default) or starting within its time is in the
		 * supervisor's hands: withholding WATCHDOG=1 then would make systemd kill
		 * the whole daemon and defeat the per-worker restart. Only a worker that
		 * hangs or will not start (killed above/below, and again every tick until
		 * it is reaped) withholds it. */
		if (k->state != CHILD_RUNNING && k->state != CHILD_STOPPING)
			continue;
		if (k->state == CHILD_RUNNING &&
		    now - k->last_pong_ms > (uint64_t)sv->cfg.hang_timeout_ms) {
			char why[96];
			snprintf(why, sizeof(why), "no heartbeat answer for %llu ms (hung)",
				 (unsigned long long)(now - k->last_pong_ms));
			sup_kill_child(sv, k, why);
			healthy = 0;
			continue;
		}
		k->ping_nonce++;
		struct ipc_u64 v = {.value = k->ping_nonce};
		(void)sup_send(sv, k, MSG_PING, &v, sizeof(v));
	}
	/* Also while stopping: the stop sequence is bounded by its step timers, and a
	 * missing ping would let systemd's watchdog cut it short. */
	if (healthy && sv->watchdog_usec)
		notify_send("WATCHDOG=1");
	(void)ev_timer(loop, (uint64_t)sv->cfg.heartbeat_interval_ms, sup_heartbeat, sv);
}

/* ---- orderly shutdown ------------------------------------------------------------ *
 * Reference §2.8 in the corrected order: daemonstate shutdown, let flush stop between
 * moves, stop VM supervision (VMs keep running), give up primary and close the
 * session (zk-election phase 2: relinquish, final keepalive, `stop`), and last
 * net-router (which removes any primary address still present). */

struct stop_step {
	enum pvc_role role;
	uint32_t phase;
	unsigned timeout_ms;
	int kill_after; /* stop the worker once it acknowledged */
};

static const struct stop_step stop_steps[] = {
	{ROLE_ZK, 1, 5000, 0},
	{ROLE_FENCE, 1, 5000, 1},
	{ROLE_FLUSH, 1, 10000, 1},
	{ROLE_VM, 1, 5000, 1},
	{ROLE_ZK, 2, 12000, 1},
	{ROLE_NET, 1, 5000, 1},
};

static void sup_step_timeout(struct ev_loop *loop, void *arg)
{
	struct supervisor *sv = arg;
	const struct stop_step *st;
	struct child *k;

	sv->step_timer = 0;
	if ((size_t)sv->stop_step >= sizeof(stop_steps) / sizeof(stop_steps[0]))
		return;
	st = &stop_steps[sv->stop_step];
	k = &sv->kids[st->role];
	log_warnx("%s did not finish shutdown phase %u in %u ms; killing it", role_name(st->role),
		  st->phase, st->timeout_ms);
	k->shutdown_done = 1;
	if (k->pid > 0)
		kill(k->pid, SIGKILL);
	else
		sup_shutdown_step(sv);
}

static void sup_finish(struct supervisor *sv)
{
	notify_send("STOPPING=1");
	log_sys("pvcnoded stopped (exit status %d)", sv->exit_code);
	ev_break(sv->loop);
}

/* Leave the current step. Its timer must go with it, whichever way the step ended
 * (answer, death of the worker): left running, it would fire during a later step
 * and kill that step's worker before its time. */
static void sup_step_next(struct supervisor *sv)
{
	if (sv->step_timer) {
		ev_timer_cancel(sv->loop, sv->step_timer);
		sv->step_timer = 0;
	}
	sv->stop_step++;
}

/* Advance the shutdown sequence as far as possible. */
static void sup_shutdown_step(struct supervisor *sv)
{
	const size_t nsteps = sizeof(stop_steps) / sizeof(stop_steps[0]);

	while ((size_t)sv->stop_step < nsteps) {
		const struct stop_step *st = &stop_steps[sv->stop_step];
		struct child *k = &sv->kids[st->role];
		int alive = k->pid > 0 && k->chan.fd >= 0;

		if (k->state == CHILD_STOPPING && !k->shutdown_done && alive)
			return; /* waiting for its answer or the step timer */
		if (k->state == CHILD_STOPPING && k->shutdown_done) {
			if (sv->step_timer) {
				ev_timer_cancel(sv->loop, sv->step_timer);
				sv->step_timer = 0;
			}
			if (st->kill_after && k->pid > 0) {
				kill(k->pid, SIGKILL);
				return; /* the reaper calls us again */
			}
			k->state = st->kill_after ? CHILD_STOPPED : CHILD_RUNNING;
			sup_step_next(sv);
			continue;
		}
		/* A worker still starting (killed by supervisor_begin_shutdown) has nothing
		 * to hand over: wait for its reap instead of asking it. */
		if (k->state == CHILD_STOPPED || k->state == CHILD_STARTING || !alive) {
			if (k->restart_timer) {
				ev_timer_cancel(sv->loop, k->restart_timer);
				k->restart_timer = 0;
			}
			if (k->pid > 0)
				kill(k->pid, SIGKILL);
			if (k->pid > 0)
				return;
			k->state = CHILD_STOPPED;
			sup_step_next(sv);
			continue;
		}
		/* running: ask it */
		{
			struct ipc_shutdown s = {.phase = st->phase};
			k->shutdown_done = 0;
			k->state = CHILD_STOPPING;
			log_sys("stopping: %s phase %u", role_name(st->role), st->phase);
			if (sv->step_timer) { /* never two step timers */
				ev_timer_cancel(sv->loop, sv->step_timer);
				sv->step_timer = 0;
			}
			if (sup_send(sv, k, MSG_SHUTDOWN, &s, sizeof(s)) != 0) {
				k->shutdown_done = 1;
				continue;
			}
			sv->step_timer = ev_timer(sv->loop, st->timeout_ms, sup_step_timeout, sv);
			return;
		}
	}
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++)
		if (sv->kids[r].pid > 0)
			return; /* wait for the last reaps */
	sup_finish(sv);
}

void supervisor_begin_shutdown(struct supervisor *sv, int exit_code, const char *why)
{
	if (sv->stopping) {
		if (exit_code > sv->exit_code)
			sv->exit_code = exit_code;
		return;
	}
	sv->stopping = 1;
	sv->exit_code = exit_code;
	sv->stop_step = 0;
	if (exit_code == PVC_EXIT_ESCALATED)
		log_errx("escalating: %s; stopping everything (exit status %d)", why, exit_code);
	else
		log_sys("stopping: %s", why);
	notify_send("STOPPING=1");
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		struct child *k = &sv->kids[r];
		if (k->restart_timer) {
			ev_timer_cancel(sv->loop, k->restart_timer);
			k->restart_timer = 0;
		}
		if (k->state == CHILD_DOWN)
			k->state = CHILD_STOPPED;
		if (k->state == CHILD_STARTING && k->pid > 0) {
			/* not ready yet: nothing to hand over */
			kill(k->pid, SIGKILL);
		}
	}
	sup_shutdown_step(sv);
}

/* ---- signals ------------------------------------------------------------------------ */

static void sup_signal_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct supervisor *sv = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			sup_reap(sv);
			break;
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			supervisor_begin_shutdown(sv, PVC_EXIT_OK,
						  si.ssi_signo == SIGTERM ? "SIGTERM" :
						  si.ssi_signo == SIGINT ? "SIGINT" : "SIGQUIT");
			break;
		case SIGHUP:
			if (sv->cfg.file_logging) {
				char path[CFG_PATH_MAX + 16];
				snprintf(path, sizeof(path), "%s/pvc.log", sv->cfg.log_directory);
				if (log_open_file(path) != 0)
					log_err("reopening %s", path);
				else
					log_info("log file %s reopened", path);
			}
			break;
		default:
			break;
		}
	}
}

static int make_dir(const char *path, mode_t mode)
{
	char tmp[CFG_PATH_MAX];

	if (strlcpy_pvc(tmp, path, sizeof(tmp)) >= sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void sup_banner(const struct pvc_config *cfg)
{
	logmsg('0', "Parallel Virtual Cluster node daemon v%s (pvcnoded in C)", PVC_VERSION);
	logmsg('0', "    Node: %s%s%s (id %d, %s)", cfg->node_name, cfg->domain_name[0] ? "." : "",
	       cfg->domain_name, cfg->node_id, cfg->is_coordinator ? "coordinator" : "hypervisor");
	logmsg('0', "    IPMI hostname: %s", cfg->ipmi_host);
	logmsg('0', "    ZooKeeper: %s (session timeout %d ms)", cfg->zk_hosts,
	       cfg->zk_session_timeout_ms);
}

int supervisor_main(const struct pvc_config *cfg)
{
	struct supervisor *sv = calloc(1, sizeof(*sv));
	struct log_opts lo;
	sigset_t mask;
	int exit_code;

	if (sv == NULL)
		fatalx("out of memory");
	/* The supervisor holds the whole configuration, IPMI password included:
	 * never let it reach a core file or another process's ptrace. */
	{
		struct rlimit nocore = {0, 0};
		if (setrlimit(RLIMIT_CORE, &nocore) != 0)
			fatal("setrlimit(RLIMIT_CORE)");
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
			fatal("prctl(PR_SET_DUMPABLE)");
	}
	sv->cfg = *cfg;
	sv->ctl_fd = -1;
	sv->start_ms = mono_ms();
	lo.colours = cfg->log_colours;
	lo.dates = cfg->log_dates;
	lo.to_stdout = cfg->stdout_logging;
	lo.debug = cfg->debug;
	log_init("", &lo);
	if (cfg->file_logging) {
		char path[CFG_PATH_MAX + 16];
		if (make_dir(cfg->log_directory, 0750) != 0)
			fatal("creating log directory %s", cfg->log_directory);
		snprintf(path, sizeof(path), "%s/pvc.log", cfg->log_directory);
		if (log_open_file(path) != 0)
			fatal("opening %s", path);
	}
	if (make_dir(cfg->dynamic_directory, 0755) != 0)
		fatal("creating dynamic directory %s", cfg->dynamic_directory);
	sup_banner(cfg);
	log_sys("pvcnoded starting up");
	if (priv_supervisor_limit() != 0)
		log_warnx("could not reduce the supervisor's capabilities fully");

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	sv->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv->sigfd < 0)
		fatal("signalfd");
	sv->loop = ev_new();
	if (sv->loop == NULL)
		fatalx("out of memory");
	if (ev_add_fd(sv->loop, sv->sigfd, POLLIN, sup_signal_event, sv) != 0)
		fatalx("out of memory");
	if (control_open(sv) != 0)
		fatalx("cannot open the control socket in %s", cfg->dynamic_directory);
	sv->watchdog_usec = notify_watchdog_usec();

	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		sv->kids[r].role = (enum pvc_role)r;
		sv->kids[r].chan.fd = -1;
		sv->kids[r].program_fd = -1;
	}
	if (programs_open(sv) != 0)
		fatalx("cannot start without the worker programs");
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++)
		sup_spawn(sv, &sv->kids[r]);
	{
		uint64_t first = (uint64_t)cfg->heartbeat_interval_ms;
		if (sv->watchdog_usec && sv->watchdog_usec / 2000 < first)
			log_warnx("WatchdogSec is shorter than twice the heartbeat interval");
		(void)ev_timer(sv->loop, first, sup_heartbeat, sv);
	}
	if (ev_run(sv->loop) != 0)
		log_err("supervisor event loop");
	control_close(sv);
	programs_close(sv);
	exit_code = sv->exit_code;
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		ipc_chan_close(&sv->kids[r].chan);
		child_clear_status(&sv->kids[r]);
	}
	close(sv->sigfd);
	ev_free(sv->loop);
	explicit_bzero(&sv->cfg, sizeof(sv->cfg));
	free(sv);
	return exit_code;
}
