/*
 * record.c: vm-manager's per-VM records (find, create, unlink and deferred free)
 * and the two questions every decision asks of them.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm_domain.h"

struct vm_rec *vm_record_find(struct vmm *m, const char *uuid)
{
	for (size_t i = 0; i < m->nrecs; i++)
		if (strcmp(m->recs[i]->uuid, uuid) == 0)
			return m->recs[i];
	return NULL;
}

struct vm_rec *vm_record_get(struct vmm *m, const char *uuid)
{
	struct vm_rec *r = vm_record_find(m, uuid);

	if (r)
		return r;
	if (m->nrecs == m->caprecs) {
		size_t cap = m->caprecs ? m->caprecs * 2 : 64;
		struct vm_rec **n = realloc(m->recs, cap * sizeof(*n));
		if (n == NULL)
			return NULL;
		m->recs = n;
		m->caprecs = cap;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->m = m;
	strlcpy_pvc(r->uuid, uuid, sizeof(r->uuid));
	r->version = -1;
	r->act_version = r->stale_version = -1;
	r->cookie = ++m->next_cookie;
	m->recs[m->nrecs++] = r;
	return r;
}

static void reap_cb(struct ev_loop *loop, void *arg)
{
	struct vmm *m = arg;

	m->reap_timer = 0;
	while (m->dead) {
		struct vm_rec *r = m->dead;
		m->dead = r->next_dead;
		free(r->w_reason);
		free(r);
	}
}

/* Unlink now, free from the loop later: callers up the stack may still hold r
 * (an action ending inside a job callback), and must only find it unlinked. */
/* Closes the console log descriptor the supervisor opened for this VM, if any
 * (console.c); here because a record's end must close it too. */
void vm_record_console_drop(struct vm_rec *r)
{
	if (r->con.have_fd)
		close(r->con.fd);
	r->con.have_fd = 0;
	r->con.fd = -1;
}

void vm_record_free(struct vmm *m, struct vm_rec *r)
{
	for (size_t i = 0; i < m->nrecs; i++) {
		if (m->recs[i] == r) {
			m->recs[i] = m->recs[--m->nrecs];
			break;
		}
	}
	if (r->deadline_timer)
		ev_timer_cancel(m->w->loop, r->deadline_timer);
	if (r->tick_timer)
		ev_timer_cancel(m->w->loop, r->tick_timer);
	r->deadline_timer = r->tick_timer = 0;
	vm_record_console_drop(r);
	r->act = VA_NONE;
	r->known = 0;
	r->cookie = ++m->next_cookie;
	r->unlinked = 1;
	r->next_dead = m->dead;
	m->dead = r;
	if (!m->reap_timer)
		m->reap_timer = ev_timer(m->w->loop, 0, reap_cb, m);
}

int vm_record_owner(const struct vmm *m, const struct vm_rec *r)
{
	return strcmp(r->node, m->cfg->node_name) == 0;
}

int vm_record_ready(const struct vmm *m)
{
	return m->synced && m->listed && !m->reconnecting;
}
