/*
 * run.c: run one command for the fence worker with a deadline.
 *
 * The child gets its own process group so that a deadline kills everything it
 * started (ipmitool itself, or a wrapper script and its children). The password
 * travels only in the child's environment (ipmitool -E reads IPMI_PASSWORD): argv
 * is world-readable in /proc, the environment is not (and the worker is
 * non-dumpable, which its children inherit until exec).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "fence.h"
#include "log.h"
#include "pvc.h"

#define REAP_POLL_MS 20

static void cmd_finish(struct fence_cmd *c)
{
	if (c->timer) {
		ev_timer_cancel(c->loop, c->timer);
		c->timer = 0;
	}
	if (c->fd >= 0) {
		ev_del_fd(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	c->out[c->outlen] = '\0';
	if (c->done)
		c->done(c, c->arg);
}

static int try_reap(struct fence_cmd *c, int block)
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
		log_warn("fence: waitpid %d", (int)c->pid);
		c->exited = 1;
		c->status = -1;
		return 1;
	}
	return 0;
}

static void kill_group(struct fence_cmd *c)
{
	/* The child leads its own group (setpgid on both sides of the fork, so it
	 * exists before exec): the group covers its children too. The seccomp filter
	 * allows nothing but this form (fence_seccomp_rules). */
	if (kill(-c->pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("fence: kill process group %d", (int)c->pid);
}

static void cmd_timer(struct ev_loop *loop, void *arg)
{
	struct fence_cmd *c = arg;

	c->timer = 0;
	if (mono_ms() >= c->deadline_ms) {
		c->timed_out = 1;
		kill_group(c);
		(void)try_reap(c, 1);
		cmd_finish(c);
		return;
	}
	/* output closed: wait for the exit itself (the child may linger briefly) */
	if (try_reap(c, 0)) {
		cmd_finish(c);
		return;
	}
	c->timer = ev_timer(loop, REAP_POLL_MS, cmd_timer, c);
}

static void cmd_readable(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct fence_cmd *c = arg;
	char buf[512];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		size_t room = sizeof(c->out) - 1 - c->outlen;
		size_t k = (size_t)n < room ? (size_t)n : room;
		memcpy(c->out + c->outlen, buf, k);
		c->outlen += k;
		return;
	}
	/* EOF or error: every writer is gone */
	ev_del_fd(loop, fd);
	close(fd);
	c->fd = -1;
	c->eof = 1;
	if (try_reap(c, 0)) {
		cmd_finish(c);
		return;
	}
	if (c->timer)
		ev_timer_cancel(loop, c->timer);
	c->timer = ev_timer(loop, REAP_POLL_MS, cmd_timer, c);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(int rfd, int wfd, const char *const *argv, char *const *envp)
{
	(void)setpgid(0, 0);
	if (dup2(rfd, 0) < 0 || dup2(wfd, 1) < 0 || dup2(wfd, 2) < 0)
		_exit(126);
	execvpe(argv[0], (char *const *)argv, envp);
	_exit(127);
}

/* PATH and IPMI_PASSWORD only: nothing else of the worker's environment. */
static int child_env(const char *password, char **pathvar, char **pwvar, size_t pl)
{
	const char *path = getenv("PATH");

	if (path == NULL || path[0] == '\0')
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	if (asprintf(pathvar, "PATH=%s", path) < 0) {
		*pathvar = NULL;
		return -1;
	}
	*pwvar = malloc(pl);
	if (*pwvar == NULL)
		return -1;
	snprintf(*pwvar, pl, "IPMI_PASSWORD=%s", password);
	return 0;
}

/* Fork the child with its output on a pipe whose read end becomes c->fd. */
static int cmd_spawn(struct fence_cmd *c, const char *const *argv, char *const *envp,
		     unsigned timeout_ms)
{
	int p[2], in[2];

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("fence: pipe");
		return -1;
	}
	/* stdin: a pipe whose write end is already closed reads as EOF, like
	 * /dev/null, without the worker holding a file open */
	if (pipe2(in, O_CLOEXEC) != 0) {
		log_warn("fence: pipe");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(in[1]);
	c->started_ms = mono_ms();
	c->deadline_ms = c->started_ms + timeout_ms;
	c->pid = fork();
	if (c->pid < 0) {
		log_warn("fence: fork");
		close(p[0]);
		close(p[1]);
		close(in[0]);
		return -1;
	}
	if (c->pid == 0)
		child_exec(in[0], p[1], argv, envp);
	close(in[0]);
	/* also from the parent: no race with the child's own setpgid before a kill */
	(void)setpgid(c->pid, c->pid);
	close(p[1]);
	c->fd = p[0];
	return 0;
}

static int cmd_watch(struct fence_cmd *c, struct ev_loop *loop, unsigned timeout_ms)
{
	if (set_nonblock(c->fd) == 0 && ev_add_fd(loop, c->fd, POLLIN, cmd_readable, c) == 0 &&
	    (c->timer = ev_timer(loop, timeout_ms, cmd_timer, c)) != 0)
		return 0;
	log_errx("fence: cannot watch the command; killing it");
	kill_group(c);
	(void)try_reap(c, 1);
	if (c->fd >= 0) {
		ev_del_fd(loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	if (c->timer)
		ev_timer_cancel(loop, c->timer);
	c->timer = 0;
	return -1;
}

int fence_run_start(struct fence_cmd *c, struct ev_loop *loop, const char *const *argv,
		    const char *password, unsigned timeout_ms, fence_cmd_done_fn done, void *arg)
{
	char *pathvar = NULL, *pwvar = NULL;
	char *envp[3];
	size_t pl = strlen(password) + sizeof("IPMI_PASSWORD=");
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->loop = loop;
	c->done = done;
	c->arg = arg;
	if (child_env(password, &pathvar, &pwvar, pl) != 0)
		goto out;
	envp[0] = pathvar;
	envp[1] = pwvar;
	envp[2] = NULL;
	if (cmd_spawn(c, argv, envp, timeout_ms) != 0 || cmd_watch(c, loop, timeout_ms) != 0)
		goto out;
	rc = 0;
out:
	if (pwvar) {
		explicit_bzero(pwvar, pl);
		free(pwvar);
	}
	free(pathvar);
	return rc;
}

void fence_run_abort(struct fence_cmd *c)
{
	if (c->pid <= 0 || c->exited)
		return;
	kill_group(c);
	(void)try_reap(c, 1);
	c->done = NULL;
	cmd_finish(c);
}

int fence_run_ok(const struct fence_cmd *c)
{
	return c->exited && !c->timed_out && c->status >= 0 && WIFEXITED(c->status) &&
	       WEXITSTATUS(c->status) == 0;
}

void fence_run_describe(const struct fence_cmd *c, char *buf, size_t size)
{
	fence_util_describe(c->status, c->timed_out,
			    (unsigned long long)(mono_ms() - c->started_ms), buf, size);
}
