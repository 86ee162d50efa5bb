/*
 * reconcile.c: what libvirt tells vm-manager outside of actions: lifecycle events,
 * the full listing (at start, after a reconnection, at every keepalive and when an
 * event leaves a doubt) and the connection's loss and return. Results of action
 * jobs are passed on to result.c.
 */
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "log.h"
#include "vm_domain.h"

#define RECONNECT_FIRST_MS 500
#define RECONNECT_MAX_MS 30000

void vm_reconcile_list(struct vmm *m)
{
	struct vlv_job *j;

	if (m->list_inflight || m->reconnecting)
		return;
	j = vm_libvirt_job_new(VLV_LIST, NULL, 0);
	if (j == NULL)
		return;
	m->list_inflight = 1;
	m->list_seq = m->evseq;
	(void)m->ops->submit(m, j);
}

void vm_reconcile_evaluate_all(struct vmm *m)
{
	/* copy: evaluation may free records (a deleted VM whose action ended) */
	size_t n = m->nrecs;
	struct vm_rec **c = malloc((n + 1) * sizeof(*c));

	if (c == NULL)
		return;
	if (n > 0)
		memcpy(c, m->recs, n * sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		if (c[i]->unlinked)
			continue; /* freed later, memory still valid */
		c[i]->spin = 0;
		vm_domain_evaluate(m, c[i]);
	}
	free(c);
}

static void apply_listed(struct vmm *m, const struct vlv_dominfo *d)
{
	struct vm_rec *r;

	if (!valid_uuid(d->uuid) || (r = vm_record_get(m, d->uuid)) == NULL)
		return;
	if (!r->known && r->name[0] == '\0')
		strlcpy_pvc(r->name, d->name, sizeof(r->name));
	if (r->act != VA_NONE || r->lv_seq > m->list_seq)
		return; /* newer knowledge than this listing */
	r->mem_kib = d->mem_kib;
	r->vcpus = d->vcpus;
	if (r->lv != d->state) {
		r->lv = d->state == LV_ABSENT ? LV_OTHER : d->state;
		if (r->run_order == 0)
			r->run_order = ++m->run_seq;
		r->lv_seq = ++m->evseq;
	}
}

/* Whatever is not listed is not active. */
static void apply_unlisted(struct vmm *m, const struct vlv_job *j)
{
	for (size_t i = 0; i < m->nrecs; ) {
		struct vm_rec *r = m->recs[i];
		int listed = 0;
		for (size_t k = 0; k < j->nlist && !listed; k++)
			listed = strcmp(j->list[k].uuid, r->uuid) == 0;
		if (!listed && r->act == VA_NONE && r->lv_seq <= m->list_seq && r->lv != LV_ABSENT) {
			r->lv = LV_ABSENT;
			r->run_order = 0;
		}
		if (!listed && !r->known && r->act == VA_NONE && r->lv == LV_ABSENT) {
			vm_record_free(m, r);
			continue;
		}
		i++;
	}
}

static void handle_list(struct vmm *m, struct vlv_job *j)
{
	m->list_inflight = 0;
	if (j->rc != 0) {
		log_warnx("libvirt: %s", j->err);
		m->ops->stats_changed(m);
		return;
	}
	for (size_t i = 0; i < j->nlist; i++)
		apply_listed(m, &j->list[i]);
	apply_unlisted(m, j);
	if (!m->listed) {
		m->listed = 1;
		log_info("libvirt: %zu active domain(s) found", j->nlist);
	}
	m->ops->stats_changed(m);
	vm_reconcile_evaluate_all(m);
}

static void reconnect_cb(struct ev_loop *loop, void *arg)
{
	struct vmm *m = arg;
	struct vlv_job *j = vm_libvirt_job_new(VLV_CONNECT, NULL, 0);

	if (j == NULL || m->ops->submit(m, j) != 0) {
		vm_libvirt_job_free(j);
		(void)ev_timer(loop, (uint64_t)m->reconnect_ms, reconnect_cb, m);
	}
}

void vm_reconcile_connect_later(struct vmm *m)
{
	m->reconnecting = 1;
	m->reconnect_ms = RECONNECT_FIRST_MS;
	(void)ev_timer(m->w->loop, (uint64_t)m->reconnect_ms, reconnect_cb, m);
}

static void lost_connection(struct vmm *m, const char *why)
{
	if (m->reconnecting)
		return;
	log_errx("libvirt connection lost (%s): reconnecting", why);
	m->listed = 0;
	vm_reconcile_connect_later(m);
	m->ops->stats_changed(m);
}

static void connect_done(struct vmm *m, struct vlv_job *j)
{
	if (j->rc != 0) {
		m->reconnect_ms = m->reconnect_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS
									  : m->reconnect_ms * 2;
		log_warnx("libvirt: %s (next attempt in %d ms)", j->err, m->reconnect_ms);
		(void)ev_timer(m->w->loop, (uint64_t)m->reconnect_ms, reconnect_cb, m);
		return;
	}
	log_ok("libvirt: connected to %s", m->cfg->libvirt_uri);
	m->reconnecting = 0;
	vm_reconcile_list(m);
}

static int event_to_lv(int type, int detail)
{
	switch (type) {
	case VIR_DOMAIN_EVENT_STARTED:
		/* an incoming migration starts paused; RESUMED follows when it completes,
		 * and only then may a receiver write state=start */
		return detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED ? LV_OTHER : LV_RUNNING;
	case VIR_DOMAIN_EVENT_RESUMED:
		return LV_RUNNING;
	case VIR_DOMAIN_EVENT_SUSPENDED:
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		return LV_OTHER;
	case VIR_DOMAIN_EVENT_STOPPED:
		return LV_ABSENT;
	default:
		return -1; /* defined/undefined/shutdown-begun/crashed: the listing settles it */
	}
}

static void handle_event(struct vmm *m, struct vlv_job *j)
{
	struct vm_rec *r;
	int lv;

	if (j->ev_closed) {
		lost_connection(m, "connection closed");
		return;
	}
	if (!valid_uuid(j->uuid))
		return;
	lv = event_to_lv(j->ev_type, j->ev_detail);
	log_debug("libvirt event %d/%d for %s", j->ev_type, j->ev_detail, j->uuid);
	if (lv < 0) {
		vm_reconcile_list(m);
		return;
	}
	r = lv == LV_ABSENT ? vm_record_find(m, j->uuid) : vm_record_get(m, j->uuid);
	if (r)
		vm_domain_observed(m, r, lv, 1);
}

void vm_reconcile_done(struct vlv_job *j, struct vmm *m)
{
	struct vm_rec *r;

	switch (j->op) {
	case VLV_EVENT:
		handle_event(m, j);
		return;
	case VLV_CONNECT:
		connect_done(m, j);
		return;
	case VLV_LIST:
		if (j->rc != 0 && j->conn_lost)
			lost_connection(m, j->err);
		handle_list(m, j);
		return;
	default:
		break;
	}
	if (j->rc != 0 && j->conn_lost)
		lost_connection(m, j->err);
	if (j->cookie == 0)
		return; /* fire-and-forget (migration abort) */
	r = vm_record_find(m, j->uuid);
	if (r)
		vm_result_job(m, r, j);
}
