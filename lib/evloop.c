/*
 * evloop.c: poll(2) loop with fd callbacks, one-shot timers and a prepare hook.
 * Timers are kept in a small unsorted array: workers have tens of timers at most.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "pvc.h"

struct ev_fd {
	int fd;
	uint64_t gen; /* new for every registration that is not a replacement */
	short events;
	ev_fd_cb cb;
	void *arg;
};

struct ev_tm {
	uint64_t id;
	uint64_t due;
	ev_timer_cb cb;
	void *arg;
};

struct ev_loop {
	struct ev_fd *fds;
	size_t nfds, capfds;
	struct ev_tm *tms;
	size_t ntms, captms;
	uint64_t next_id;
	uint64_t next_gen;
	ev_prepare_cb prepare;
	void *prepare_arg;
	int stop;
};

struct ev_loop *ev_new(void)
{
	struct ev_loop *l = calloc(1, sizeof(*l));

	if (l)
		l->next_id = 1;
	return l;
}

void ev_free(struct ev_loop *loop)
{
	if (loop == NULL)
		return;
	free(loop->fds);
	free(loop->tms);
	free(loop);
}

static struct ev_fd *find_fd(struct ev_loop *l, int fd)
{
	for (size_t i = 0; i < l->nfds; i++)
		if (l->fds[i].fd == fd)
			return &l->fds[i];
	return NULL;
}

int ev_add_fd(struct ev_loop *l, int fd, short events, ev_fd_cb cb, void *arg)
{
	struct ev_fd *e = find_fd(l, fd);

	if (e == NULL) {
		if (l->nfds == l->capfds) {
			size_t cap = l->capfds ? l->capfds * 2 : 8;
			struct ev_fd *n = realloc(l->fds, cap * sizeof(*n));
			if (n == NULL)
				return -1;
			l->fds = n;
			l->capfds = cap;
		}
		e = &l->fds[l->nfds++];
		e->gen = ++l->next_gen;
	}
	e->fd = fd;
	e->events = events;
	e->cb = cb;
	e->arg = arg;
	return 0;
}

int ev_mod_fd(struct ev_loop *l, int fd, short events)
{
	struct ev_fd *e = find_fd(l, fd);

	if (e == NULL)
		return -1;
	e->events = events;
	return 0;
}

void ev_del_fd(struct ev_loop *l, int fd)
{
	for (size_t i = 0; i < l->nfds; i++) {
		if (l->fds[i].fd == fd) {
			l->fds[i] = l->fds[--l->nfds];
			return;
		}
	}
}

uint64_t ev_timer(struct ev_loop *l, uint64_t delay_ms, ev_timer_cb cb, void *arg)
{
	struct ev_tm *t;

	if (l->ntms == l->captms) {
		size_t cap = l->captms ? l->captms * 2 : 16;
		struct ev_tm *n = realloc(l->tms, cap * sizeof(*n));
		if (n == NULL)
			return 0;
		l->tms = n;
		l->captms = cap;
	}
	t = &l->tms[l->ntms++];
	t->id = l->next_id++;
	t->due = mono_ms() + delay_ms;
	t->cb = cb;
	t->arg = arg;
	return t->id;
}

void ev_timer_cancel(struct ev_loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->ntms; i++) {
		if (l->tms[i].id == id) {
			l->tms[i] = l->tms[--l->ntms];
			return;
		}
	}
}

void ev_set_prepare(struct ev_loop *l, ev_prepare_cb cb, void *arg)
{
	l->prepare = cb;
	l->prepare_arg = arg;
}

void ev_break(struct ev_loop *l)
{
	l->stop = 1;
}

static void run_due_timers(struct ev_loop *l)
{
	uint64_t now = mono_ms();
	int fired;

	/* Fire one due timer at a time: a callback may add or cancel timers. */
	do {
		fired = 0;
		for (size_t i = 0; i < l->ntms; i++) {
			if (l->tms[i].due <= now) {
				struct ev_tm t = l->tms[i];
				l->tms[i] = l->tms[--l->ntms];
				t.cb(l, t.arg);
				fired = 1;
				break;
			}
		}
	} while (fired && !l->stop);
}

int ev_run(struct ev_loop *l)
{
	struct pollfd *pfds = NULL;
	uint64_t *gens = NULL;
	size_t cap = 0;

	l->stop = 0;
	while (!l->stop) {
		int timeout = -1, n;
		uint64_t now;
		size_t count;

		if (l->prepare)
			timeout = l->prepare(l, l->prepare_arg);
		if (l->stop)
			break;
		now = mono_ms();
		for (size_t i = 0; i < l->ntms; i++) {
			uint64_t d = l->tms[i].due > now ? l->tms[i].due - now : 0;
			if (d > INT_MAX)
				d = INT_MAX;
			if (timeout < 0 || (int)d < timeout)
				timeout = (int)d;
		}
		count = l->nfds;
		if (count > cap) {
			struct pollfd *np = realloc(pfds, count * sizeof(*np));
			uint64_t *ng;
			if (np == NULL) {
				free(pfds);
				free(gens);
				return -1;
			}
			pfds = np;
			ng = realloc(gens, count * sizeof(*ng));
			if (ng == NULL) {
				free(pfds);
				free(gens);
				return -1;
			}
			gens = ng;
			cap = count;
		}
		for (size_t i = 0; i < count; i++) {
			gens[i] = l->fds[i].gen;
			pfds[i].fd = l->fds[i].fd;
			pfds[i].events = l->fds[i].events;
			pfds[i].revents = 0;
		}
		n = poll(pfds, count, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(pfds);
			free(gens);
			return -1;
		}
		for (size_t i = 0; i < count && !l->stop; i++) {
			struct ev_fd *e;
			if (pfds[i].revents == 0)
				continue;
			/* the callback of an earlier fd may have removed or replaced this one,
			 * or closed it and registered a new fd that got the same number: the
			 * events polled belong to the old one, not to the newcomer */
			e = find_fd(l, pfds[i].fd);
			if (e == NULL || e->gen != gens[i])
				continue;
			e->cb(l, pfds[i].fd, pfds[i].revents, e->arg);
		}
		if (!l->stop)
			run_due_timers(l);
	}
	free(pfds);
	free(gens);
	return 0;
}
