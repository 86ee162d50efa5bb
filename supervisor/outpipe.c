/*
 * outpipe.c: a worker's stdout and stderr. They never share the supervisor's own
 * stream (the journal): a worker writing there could forge any line, with any role
 * and state. Each incarnation gets a pipe instead, whose lines the supervisor logs as
 * the role's, cleaned (wtext.c) and under its output budget (quota.c). A pipe and not
 * /dev/null: what a worker writes before it has a channel (or after losing it) stays
 * visible, like a start-up failure, PVC_SECCOMP_LOG's line, or a sanitizer report
 * (an AddressSanitizer build writes its reports to stderr; the tests find them in
 * the node's log).
 *
 * A pipe outlives its worker until every writer is gone (a report written while
 * dying is read after SIGCHLD, and a helper the worker started may hold it): each
 * has its own small reader, freed at EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

/* longer lines are logged in pieces of this size */
#define OUTPIPE_LINE_MAX 1024

struct outpipe {
	struct supervisor *sv;
	enum pvc_role role;
	int fd;
	size_t len;
	char buf[OUTPIPE_LINE_MAX];
};

int sup_outpipe_open(int *write_end, int *read_end)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if (set_nonblock(p[0]) != 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	*read_end = p[0];
	*write_end = p[1];
	return 0;
}

static void outpipe_line(struct outpipe *o, const char *s, size_t n)
{
	struct child *k = &o->sv->kids[o->role];
	char text[OUTPIPE_LINE_MAX * 4 + 1], prefix[64];

	if (n == 0 || !sup_quota_allow(o->sv, k, SUP_QUOTA_OUTPUT))
		return;
	(void)sup_wtext_clean(text, sizeof(text), s, n);
	snprintf(prefix, sizeof(prefix), "%s: output", role_name(o->role));
	log_write_line('w', prefix, text);
}

static void outpipe_close(struct ev_loop *loop, struct outpipe *o)
{
	outpipe_line(o, o->buf, o->len);
	ev_del_fd(loop, o->fd);
	close(o->fd);
	free(o);
}

static void outpipe_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct outpipe *o = arg;
	ssize_t r;
	size_t start = 0;

	/* one read per event: a flooding worker gets its turn like everybody else */
	r = read(fd, o->buf + o->len, sizeof(o->buf) - o->len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		outpipe_close(loop, o);
		return;
	}
	o->len += (size_t)r;
	for (size_t i = 0; i < o->len; i++) {
		if (o->buf[i] == '\n') {
			outpipe_line(o, o->buf + start, i - start);
			start = i + 1;
		}
	}
	if (start == 0 && o->len == sizeof(o->buf)) {
		outpipe_line(o, o->buf, o->len); /* a line too long: its first piece */
		start = o->len;
	}
	memmove(o->buf, o->buf + start, o->len - start);
	o->len -= start;
}

void sup_outpipe_watch(struct supervisor *sv, enum pvc_role role, int read_end)
{
	struct outpipe *o = calloc(1, sizeof(*o));

	if (o != NULL) {
		o->sv = sv;
		o->role = role;
		o->fd = read_end;
	}
	if (o == NULL || ev_add_fd(sv->loop, read_end, POLLIN, outpipe_event, o) != 0) {
		log_warnx("cannot watch the output of %s: it is lost", role_name(role));
		free(o);
		close(read_end);
	}
}
