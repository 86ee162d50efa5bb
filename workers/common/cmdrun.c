/*
 * cmdrun.c: one external command with a deadline, driven by the worker's loop
 * (cmdrun.h). The command leads its own process group, so that the deadline kills
 * everything it started (a wrapper script and its children too); each worker's
 * seccomp filter allows kill() only in that form.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmdrun.h"
#include "log.h"
#include "pvc.h"

#define REAP_POLL_MS 20
/* After the deadline's kill, how long the exit is awaited (without blocking the
 * loop: a command that left its process group is not killed by it). */
#define REAP_AFTER_KILL_MS 1000

static void cmd_finish(struct cmdrun *c)
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
	c->out[c->outlen] = '\0';
	if (c->done && !c->aborted)
		c->done(c, c->arg);
}

static int try_reap(struct cmdrun *c, int block)
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
		log_warn("%s: waitpid %d", c->who, (int)c->pid);
		c->exited = 1;
		c->status = -1;
		return 1;
	}
	return 0;
}

static void kill_group(struct cmdrun *c)
{
	/* the command leads its own group (setpgid on both sides of the fork, so the
	 * group exists before exec): it covers the command's children too */
	if (kill(-c->pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("%s: kill process group %d", c->who, (int)c->pid);
}

static void cmd_timer(struct ev_loop *loop, void *arg)
{
	struct cmdrun *c = arg;
	uint64_t now = mono_ms();

	c->timer = 0;
	if (now >= c->deadline_ms) {
		if (!c->timed_out) {
			c->timed_out = 1;
			kill_group(c);
		}
		if (try_reap(c, 0) || now >= c->deadline_ms + REAP_AFTER_KILL_MS) {
			if (!c->exited)
				log_warnx("%s: %s (pid %d) outlived the kill of its process group; "
					  "left behind", c->who, c->argv0, (int)c->pid);
			cmd_finish(c);
			return;
		}
		c->timer = ev_timer(loop, REAP_POLL_MS, cmd_timer, c);
		return;
	}
	/* output closed: wait for the exit itself (the command may linger briefly) */
	if (c->fd < 0 && try_reap(c, 0)) {
		cmd_finish(c);
		return;
	}
	c->timer = ev_timer(loop, c->fd < 0 ? REAP_POLL_MS : c->deadline_ms - now, cmd_timer, c);
}

static void out_append(struct cmdrun *c, const char *buf, size_t n)
{
	size_t room = sizeof(c->out) - 1 - c->outlen;

	if (c->keep_tail) {
		cmdrun_tail_append(c->out, sizeof(c->out), &c->outlen, buf, n);
		return;
	}
	if (n > room)
		n = room;
	memcpy(c->out + c->outlen, buf, n);
	c->outlen += n;
}

static void cmd_readable(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct cmdrun *c = arg;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		out_append(c, buf, (size_t)n);
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

/* In the child, between fork and exec: async-signal-safe calls only. The worker
 * ignores the termination signals (the supervisor stops it by message), and an
 * ignored disposition survives exec: the command gets the defaults back, so that
 * it and its children can be stopped by a signal like any program. */
static void child_exec(int rfd, int wfd, const struct cmdrun_spec *s)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE};
	struct sigaction dfl;
	sigset_t none;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &dfl, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setpgid(0, 0);
	if (dup2(rfd, 0) < 0 || dup2(wfd, 1) < 0 || dup2(wfd, 2) < 0)
		_exit(126);
	if (s->search_path)
		execvpe(s->argv[0], (char *const *)s->argv, s->envp);
	else
		execve(s->argv[0], (char *const *)s->argv, s->envp);
	_exit(127);
}

/* Fork the command with its output on a pipe whose read end becomes c->fd. */
static int cmd_spawn(struct cmdrun *c, const struct cmdrun_spec *s)
{
	int p[2], in[2];

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("%s: pipe", c->who);
		return -1;
	}
	/* stdin: a pipe whose write end is already closed reads as EOF, like
	 * /dev/null, without the worker holding a file open */
	if (pipe2(in, O_CLOEXEC) != 0) {
		log_warn("%s: pipe", c->who);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(in[1]);
	c->started_ms = mono_ms();
	c->deadline_ms = c->started_ms + s->timeout_ms;
	c->pid = fork();
	if (c->pid < 0) {
		log_warn("%s: fork", c->who);
		close(p[0]);
		close(p[1]);
		close(in[0]);
		return -1;
	}
	if (c->pid == 0)
		child_exec(in[0], p[1], s);
	close(in[0]);
	/* also from the parent: no race with the child's own setpgid before a kill */
	(void)setpgid(c->pid, c->pid);
	close(p[1]);
	c->fd = p[0];
	return 0;
}

int cmdrun_start(struct cmdrun *c, struct ev_loop *loop, const struct cmdrun_spec *spec,
		 cmdrun_done_fn done, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->status = -1;
	c->loop = loop;
	c->who = spec->who;
	c->keep_tail = spec->keep_tail;
	snprintf(c->argv0, sizeof(c->argv0), "%s", spec->argv[0]);
	c->done = done;
	c->arg = arg;
	if (cmd_spawn(c, spec) != 0)
		return -1;
	c->active = 1;
	if (set_nonblock(c->fd) == 0 && ev_add_fd(loop, c->fd, POLLIN, cmd_readable, c) == 0 &&
	    (c->timer = ev_timer(loop, spec->timeout_ms, cmd_timer, c)) != 0)
		return 0;
	log_errx("%s: cannot watch %s; killing it", c->who, spec->argv[0]);
	c->aborted = 1;
	kill_group(c);
	(void)try_reap(c, 1);
	cmd_finish(c);
	return -1;
}

void cmdrun_abort(struct cmdrun *c)
{
	if (!c->active)
		return;
	c->aborted = 1;
	if (!c->exited)
		kill_group(c);
	(void)try_reap(c, 1);
	cmd_finish(c);
}

int cmdrun_ok(const struct cmdrun *c)
{
	return c->exited && !c->timed_out && c->status >= 0 && WIFEXITED(c->status) &&
	       WEXITSTATUS(c->status) == 0;
}

void cmdrun_describe(const struct cmdrun *c, char *buf, size_t size)
{
	cmdrun_describe_status(c->who, c->status, c->timed_out,
			       (unsigned long long)(mono_ms() - c->started_ms), buf, size);
}

/* SIGSYS is what the kernel sends when the seccomp filter (inherited by the
 * command and a wrapper shell) kills a process. The syscall number reaches only
 * the dying process (si_syscall) and the kernel log, never the parent: after
 * execve no handler of ours is left to report it, and the audit log is not ours
 * to read. So the operator is told where to look instead of "signal 31". A shell
 * reports a child's death by signal N as exit 128+N. */
void cmdrun_describe_status(const char *who, int status, int timed_out,
			    unsigned long long took_ms, char *buf, size_t size)
{
	if (timed_out)
		snprintf(buf, size, "timeout after %llu ms (process group killed)", took_ms);
	else if (status < 0)
		snprintf(buf, size, "status unknown after %llu ms", took_ms);
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(buf, size,
			 "killed by the seccomp filter (SIGSYS) after %llu ms: a system call outside "
			 "the %s worker's allow-list; the kernel log names it "
			 "(audit type=1326 ... syscall=N)", took_ms, who);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGSYS)
		snprintf(buf, size,
			 "exit %d after %llu ms (128+SIGSYS: a command of the script was probably "
			 "killed by the seccomp filter; the kernel log names the system call)",
			 WEXITSTATUS(status), took_ms);
	else if (WIFEXITED(status))
		snprintf(buf, size, "exit %d after %llu ms", WEXITSTATUS(status), took_ms);
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d after %llu ms", WTERMSIG(status), took_ms);
	else
		snprintf(buf, size, "ended after %llu ms", took_ms);
}

void cmdrun_tail_append(char *buf, size_t size, size_t *lenp, const char *data, size_t n)
{
	size_t room;

	if (size == 0)
		return;
	room = size - 1;
	if (n >= room) {
		memcpy(buf, data + (n - room), room);
		*lenp = room;
	} else {
		if (*lenp + n > room) {
			size_t drop = *lenp + n - room;
			memmove(buf, buf + drop, *lenp - drop);
			*lenp -= drop;
		}
		memcpy(buf + *lenp, data, n);
		*lenp += n;
	}
	buf[*lenp] = '\0';
}
