/*
 * run.c: run one command for the api-units worker with a deadline, without
 * blocking the worker's loop: the output arrives through the loop, the exit is
 * polled after the output closes, and the deadline kills the command's whole
 * process group (systemctl's or patronictl's children included).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "evloop.h"
#include "log.h"
#include "pvc.h"

#define REAP_POLL_MS 20

/* The whole environment of a command: nothing of the worker's own. Python
 * (patronictl) writes no bytecode (no file of ours is writable anyway) and reads
 * UTF-8; systemctl pages nothing and asks no password (no terminal anyway). */
static char *const child_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
	"SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", NULL};

static void cmd_finish(struct api_cmd *c)
{
	c->active = 0;
	if (c->timer) {
		ev_timer_cancel(c->loop, c->timer);
		c->timer = 0;
	}
	if (c->fd >= 0) {
		ev_del_fd(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	if (c->done && !c->aborted)
		c->done(c, c->arg);
}

static int try_reap(struct api_cmd *c, int block)
{
	int st;
	pid_t r;

	if (c->exited)
		return 1;
	do {
		r = waitpid(c->pid, &st, block ? 0 : WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == c->pid) {
		c->exited = 1;
		c->status = st;
		return 1;
	}
	if (r < 0) {
		log_warn("api-units: waitpid %d", (int)c->pid);
		c->exited = 1;
		c->status = -1;
		return 1;
	}
	return 0;
}

static void kill_group(struct api_cmd *c)
{
	/* the child leads its own group (setpgid on both sides of the fork); the
	 * seccomp filter allows only this form of kill (api_seccomp_rules) */
	if (kill(-c->pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("api-units: kill process group %d", (int)c->pid);
}

static void cmd_timer(struct ev_loop *loop, void *arg)
{
	struct api_cmd *c = arg;

	c->timer = 0;
	if (mono_ms() >= c->deadline_ms) {
		c->timed_out = 1;
		kill_group(c);
		(void)try_reap(c, 1);
		cmd_finish(c);
		return;
	}
	if (c->fd < 0 && try_reap(c, 0)) {
		cmd_finish(c);
		return;
	}
	c->timer = ev_timer(loop, c->fd < 0 ? REAP_POLL_MS : c->deadline_ms - mono_ms(),
			    cmd_timer, c);
}

static void cmd_readable(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct api_cmd *c = arg;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		api_util_tail_append(c->out, sizeof(c->out), &c->outlen, buf, (size_t)n);
		return;
	}
	/* EOF or error: every writer is gone; the exit follows shortly */
	ev_del_fd(loop, fd);
	close(fd);
	c->fd = -1;
	if (try_reap(c, 0)) {
		cmd_finish(c);
		return;
	}
	if (c->timer)
		ev_timer_cancel(loop, c->timer);
	c->timer = ev_timer(loop, REAP_POLL_MS, cmd_timer, c);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(int rfd, int wfd, const char *const *argv)
{
	(void)setpgid(0, 0);
	if (dup2(rfd, 0) < 0 || dup2(wfd, 1) < 0 || dup2(wfd, 2) < 0)
		_exit(126);
	execve(argv[0], (char *const *)argv, child_env);
	_exit(127);
}

static int cmd_spawn(struct api_cmd *c, const char *const *argv, unsigned timeout_ms)
{
	int p[2], in[2];

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("api-units: pipe");
		return -1;
	}
	/* stdin: a pipe whose write end is closed reads as EOF, like /dev/null */
	if (pipe2(in, O_CLOEXEC) != 0) {
		log_warn("api-units: pipe");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(in[1]);
	c->started_ms = mono_ms();
	c->deadline_ms = c->started_ms + timeout_ms;
	c->pid = fork();
	if (c->pid < 0) {
		log_warn("api-units: fork");
		close(p[0]);
		close(p[1]);
		close(in[0]);
		return -1;
	}
	if (c->pid == 0)
		child_exec(in[0], p[1], argv);
	close(in[0]);
	(void)setpgid(c->pid, c->pid); /* no race with the child's own before a kill */
	close(p[1]);
	c->fd = p[0];
	return 0;
}

int api_run_start(struct api_cmd *c, struct ev_loop *loop, const char *const *argv,
		  unsigned timeout_ms, api_cmd_done_fn done, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->status = -1;
	c->loop = loop;
	c->done = done;
	c->arg = arg;
	if (cmd_spawn(c, argv, timeout_ms) != 0)
		return -1;
	c->active = 1;
	if (set_nonblock(c->fd) == 0 && ev_add_fd(loop, c->fd, POLLIN, cmd_readable, c) == 0 &&
	    (c->timer = ev_timer(loop, timeout_ms, cmd_timer, c)) != 0)
		return 0;
	log_errx("api-units: cannot watch %s; killing it", argv[0]);
	c->aborted = 1;
	kill_group(c);
	(void)try_reap(c, 1);
	cmd_finish(c);
	return -1;
}

void api_run_abort(struct api_cmd *c)
{
	if (!c->active)
		return;
	c->aborted = 1;
	if (!c->exited)
		kill_group(c);
	(void)try_reap(c, 1);
	cmd_finish(c);
}

int api_run_ok(const struct api_cmd *c)
{
	return c->exited && !c->timed_out && c->status >= 0 && WIFEXITED(c->status) &&
	       WEXITSTATUS(c->status) == 0;
}

void api_run_describe(const struct api_cmd *c, char *buf, size_t size)
{
	api_util_describe(c->status, c->timed_out,
			  (unsigned long long)(mono_ms() - c->started_ms), buf, size);
}
