/*
 * spawn.c: start a worker (fork, then execute its program from the fd opened at
 * start), and after its death restart it alone: at once, then with a backoff
 * doubling up to restart_backoff_max_ms. A worker that crashes too often in the
 * window (its crash history) or cannot run at all stops the whole daemon.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

#define RESTART_FIRST_BACKOFF_MS 100

extern char **environ;

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

static void restart_timer(struct ev_loop *loop, void *arg)
{
	struct child *k = arg;
	struct supervisor *sv = sup_of_child(k);

	k->restart_timer = 0;
	if (sv->stopping || k->state != CHILD_DOWN)
		return;
	sup_spawn_start(sv, k);
}

/* What a worker gets on fds 0-3 (the child's side). */
struct spawn_fds {
	int chan;    /* its end of the socketpair: fd 3 */
	int out;     /* the write end of its output pipe: fds 1 and 2 */
	int devnull; /* fd 0: nothing of the supervisor's terminal or stdin */
};

/* In the child: fds 0-3, then the role's program. */
static void exec_worker(struct child *k, const struct spawn_fds *f, char **env)
{
	sigset_t none;
	char *argv[] = {(char *)role_program(k->role), NULL};
	/* Above every target first: a source that already sits on 0-3 (a supervisor
	 * started with a closed stdio) must not be overwritten before it is moved. */
	int chan = fcntl(f->chan, F_DUPFD_CLOEXEC, 10), out = fcntl(f->out, F_DUPFD_CLOEXEC, 10),
	    nul = fcntl(f->devnull, F_DUPFD_CLOEXEC, 10);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (chan < 0 || out < 0 || nul < 0)
		_exit(127);
	/* dup2 leaves the targets without FD_CLOEXEC: they survive the exec */
	if (dup2(nul, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0 || dup2(chan, PVC_WORKER_FD) < 0)
		_exit(127);
	/* A fresh address space: nothing of the supervisor's memory (the whole
	 * config, other roles' state) survives into the worker. */
	execveat(k->program_fd, "", argv, env, AT_EMPTY_PATH);
	_exit(127);
}

/* The new incarnation is up: watch its channel, send its configuration (and to
 * zk-election the session to resume). */
static void started(struct supervisor *sv, struct child *k, pid_t pid, int fd)
{
	struct pvc_config wcfg;

	if (set_nonblock(fd) != 0)
		log_warn("non-blocking socket for %s", role_name(k->role));
	ipc_chan_init(&k->chan, fd, ROLE_SUPERVISOR);
	k->pid = pid;
	k->state = CHILD_STARTING;
	k->started_ms = mono_ms();
	k->ready_ms = 0;
	k->last_pong_ms = k->started_ms;
	k->pong_nonce = k->ping_nonce; /* only pings to this incarnation count */
	k->shutdown_done = 0;
	sup_child_clear_status(k);
	if (ev_add_fd(sv->loop, fd, POLLIN, sup_route_event, k) != 0)
		log_errx("cannot watch %s's socket", role_name(k->role));
	config_for_role(&sv->cfg, k->role, &wcfg);
	if (sup_child_send(sv, k, MSG_CONFIG, &wcfg, sizeof(wcfg)) != 0)
		log_warnx("could not send the configuration to %s", role_name(k->role));
	explicit_bzero(&wcfg, sizeof(wcfg));
	if (k->role == ROLE_ZK && sv->zk_session.valid)
		(void)sup_child_send(sv, k, MSG_ZK_SESSION, &sv->zk_session,
				     sizeof(sv->zk_session));
	log_sys("started %s (pid %d)", role_name(k->role), (int)pid);
}

/* The child's fds besides its channel; 0 or -1 (logged). */
static int spawn_open_stdio(struct child *k, struct spawn_fds *f, int *out_read)
{
	f->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (f->devnull < 0) {
		log_err("/dev/null for %s", role_name(k->role));
		return -1;
	}
	if (sup_outpipe_open(&f->out, out_read) != 0) {
		log_err("output pipe for %s", role_name(k->role));
		close(f->devnull);
		return -1;
	}
	return 0;
}

void sup_spawn_start(struct supervisor *sv, struct child *k)
{
	int sp[2], out_read;
	struct spawn_fds f;
	pid_t pid;
	char **env;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
		log_err("socketpair for %s", role_name(k->role));
		goto retry;
	}
	f.chan = sp[1];
	if (spawn_open_stdio(k, &f, &out_read) != 0)
		goto close_sp;
	env = worker_environment();
	if (env == NULL)
		goto close_all;
	pid = fork();
	if (pid < 0) {
		log_err("fork of %s", role_name(k->role));
		free(env);
		goto close_all;
	}
	if (pid == 0)
		exec_worker(k, &f, env);
	free(env);
	close(sp[1]);
	close(f.out);
	close(f.devnull);
	sup_outpipe_watch(sv, k->role, out_read);
	started(sv, k, pid, sp[0]);
	return;
close_all:
	close(f.out);
	close(out_read);
	close(f.devnull);
close_sp:
	close(sp[0]);
	close(sp[1]);
retry:
	k->state = CHILD_DOWN;
	k->restart_timer = ev_timer(sv->loop, 1000, restart_timer, k);
}

static unsigned crashes_in_window(struct child *k, uint64_t now, uint64_t window_ms)
{
	unsigned n = 0, used = k->ncrash < CRASH_HISTORY ? k->ncrash : CRASH_HISTORY;

	for (unsigned i = 0; i < used; i++)
		if (now - k->crash_ms[i] <= window_ms)
			n++;
	return n;
}

/* A dead worker's frames: only its log lines count. */
static int last_words(void *arg, struct ipc_msg *msg)
{
	struct child *k = arg;

	if (msg->hdr.type == MSG_LOG && msg->hdr.sender == k->role &&
	    msg->hdr.dest == ROLE_SUPERVISOR)
		sup_route_log_line(k, msg);
	return 0;
}

/* The worker is dead, but what it wrote before dying may still sit in the socket:
 * usually its last words (the fatal error that made it exit). SIGCHLD is often read
 * in the same poll round as that data, before the channel's callback runs; log those
 * lines before the channel goes. Nothing else from a dead worker is acted upon. */
static void drain_dead(struct child *k)
{
	for (int round = 0; round < 64; round++) {
		ssize_t r = ipc_chan_read(&k->chan);

		if (ipc_drain(&k->chan, 0, last_words, k, NULL) == IPC_DRAIN_BAD)
			return;
		if (r <= 0)
			return; /* EOF, nothing more buffered, or error */
	}
}

/* Record how the worker ended (for the log and pvcctl status); 1 if it asked not to
 * be restarted (PVC_WORKER_EXIT_PERMANENT). */
static int record_exit(struct child *k, int wstatus)
{
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
	return permanent;
}

/* First restart at once, then 100 ms doubling up to the cap. */
static uint64_t restart_delay(const struct child *k, uint64_t cap)
{
	uint64_t delay;

	if (k->consecutive <= 1)
		return 0;
	delay = RESTART_FIRST_BACKOFF_MS;
	for (unsigned i = 2; i < k->consecutive && delay < cap; i++)
		delay *= 2;
	if (delay > cap)
		delay = cap;
	return delay;
}

/* A crash (not a stop): escalate, or restart with backoff. */
static void crashed(struct supervisor *sv, struct child *k, uint64_t now, int permanent)
{
	uint64_t delay;

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
		sup_shutdown_begin(sv, PVC_EXIT_ESCALATED,
				   "a worker cannot run with this configuration or privilege");
		return;
	}
	if (crashes_in_window(k, now, (uint64_t)sv->cfg.crashloop_window_s * 1000u) >
	    (unsigned)sv->cfg.crashloop_max) {
		char why[128];
		snprintf(why, sizeof(why), "%s crashed more than %d times in %d s",
			 role_name(k->role), sv->cfg.crashloop_max, sv->cfg.crashloop_window_s);
		k->state = CHILD_STOPPED;
		sup_shutdown_begin(sv, PVC_EXIT_ESCALATED, why);
		return;
	}
	delay = restart_delay(k, (uint64_t)sv->cfg.restart_backoff_max_ms);
	k->restarts++;
	k->state = CHILD_DOWN;
	if (delay == 0) {
		sup_spawn_start(sv, k);
	} else {
		log_warnx("restarting %s in %llu ms (crash %u in a row)", role_name(k->role),
			  (unsigned long long)delay, k->consecutive);
		k->restart_timer = ev_timer(sv->loop, delay, restart_timer, k);
	}
}

static void child_gone(struct supervisor *sv, struct child *k, int wstatus)
{
	uint64_t now = mono_ms();
	int permanent = record_exit(k, wstatus);

	if (k->chan.fd >= 0) {
		drain_dead(k);
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
	crashed(sv, k, now, permanent);
}

void sup_spawn_reap(struct supervisor *sv)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			return;
		for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
			struct child *k = &sv->kids[r];
			if (k->pid == pid) {
				child_gone(sv, k, st);
				break;
			}
		}
	}
}
