/*
 * vm_manager.c: the vm-manager worker. Desired VM state comes from zk-election
 * (MSG_VM_DOMAIN...), observations from libvirt (vm_libvirt.c), decisions and
 * actions live in vm_domain.c. This file holds the process: start-up and
 * confinement, the zk-election dispatch, ZooKeeper requests with retries, libvirt
 * reconciliation (listing, reconnection) and the figures for the keepalive.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libvirt/libvirt.h>
#include <seccomp.h>

#include "log.h"
#include "sandbox.h"
#include "vm_domain.h"
#include "vm_selffence.h"

#define POOL_THREADS 6
#define ZK_RETRY_MIN_MS 250
#define ZK_RETRY_MAX_MS 5000
#define ZK_REPLY_TIMEOUT_MS 15000
#define RECONNECT_MAX_MS 30000

struct zreq {
	struct zreq *next;
	struct vmm *m;
	char id[32];
	int kind;
	char uuid[VLV_UUID_LEN];
	uint64_t cookie;
	uint32_t type;
	char **v; /* [reqid, args...] kept for retries */
	uint32_t n;
	int attempt;
	uint64_t sent_ms;
	uint64_t retry_timer;
};

static void zreq_free(struct vmm *m, struct zreq *z)
{
	for (struct zreq **p = &m->zreqs; *p; p = &(*p)->next) {
		if (*p == z) {
			*p = z->next;
			break;
		}
	}
	if (z->retry_timer)
		ev_timer_cancel(m->w->loop, z->retry_timer);
	for (uint32_t i = 0; i < z->n; i++)
		free(z->v[i]);
	free(z->v);
	free(z);
}

static int zreq_send(struct vmm *m, struct zreq *z)
{
	z->sent_ms = mono_ms();
	return worker_send_strv(m->w, z->type, ROLE_ZK, (const char *const *)z->v, z->n);
}

int vmm_zk_send(struct vmm *m, struct vm_rec *r, int kind, uint32_t type,
		const char *const *args, uint32_t n)
{
	struct zreq *z = calloc(1, sizeof(*z));

	if (z == NULL || (z->v = calloc(n + 1, sizeof(char *))) == NULL) {
		free(z);
		return -1;
	}
	z->m = m;
	snprintf(z->id, sizeof(z->id), "vm%llu", (unsigned long long)++m->next_reqid);
	z->kind = kind;
	strlcpy_pvc(z->uuid, r->uuid, sizeof(z->uuid));
	z->cookie = r->cookie;
	z->type = type;
	z->n = n + 1;
	z->v[0] = strdup(z->id);
	for (uint32_t i = 0; i < n; i++)
		z->v[i + 1] = strdup(args[i]);
	for (uint32_t i = 0; i < z->n; i++) {
		if (z->v[i] == NULL) {
			z->next = NULL;
			for (uint32_t k = 0; k < z->n; k++)
				free(z->v[k]);
			free(z->v);
			free(z);
			return -1;
		}
	}
	z->next = m->zreqs;
	m->zreqs = z;
	/* a send failure means the supervisor is gone; the loop ends on its own */
	(void)zreq_send(m, z);
	return 0;
}

static void zreq_retry_cb(struct ev_loop *loop, void *arg)
{
	struct zreq *z = arg;

	z->retry_timer = 0;
	(void)zreq_send(z->m, z);
}

static void handle_zk_reply(struct vmm *m, struct ipc_strv *sv)
{
	struct zreq *z;
	struct vm_rec *r;
	long long rc, version = -1;

	if (sv->n < 2 || parse_ll(sv->v[1], -100000, 100000, &rc) != 0) {
		log_warnx("malformed ZK_REPLY ignored");
		return;
	}
	for (z = m->zreqs; z; z = z->next)
		if (strcmp(z->id, sv->v[0]) == 0)
			break;
	if (z == NULL || z->retry_timer)
		return; /* a duplicate after a resend, or not ours */
	if (rc == -1001) {
		/* ZooKeeper not connected: the request still matters, retry with backoff */
		int d = ZK_RETRY_MIN_MS << (z->attempt < 5 ? z->attempt : 5);
		z->attempt++;
		z->retry_timer = ev_timer(m->w->loop, d > ZK_RETRY_MAX_MS ? ZK_RETRY_MAX_MS : (uint64_t)d,
					  zreq_retry_cb, z);
		if (z->retry_timer)
			return;
	}
	if (rc == -1000)
		log_errx("zk-election refused request %s (%s %s)", z->id,
			 z->n > 2 ? z->v[1] : "", z->n > 2 ? z->v[2] : "");
	if (sv->n >= 4 && parse_ll(sv->v[3], -1, 0x7fffffff, &version) != 0)
		version = -1;
	r = vm_find(m, z->uuid);
	if (r && z->kind == ZK_K_CONSOLE)
		vm_console_reply(m, r, (int)rc);
	else if (r && z->cookie == r->cookie && z->kind != ZK_K_PLAIN)
		vm_zk_done(m, r, z->kind, (int)rc, sv->n >= 3 ? sv->v[2] : NULL, version);
	zreq_free(m, z);
}

/* Requests whose reply never came (zk-election restarted meanwhile): send again
 * under the same id, so that a late first reply and the second are one. */
static void zreq_sweep(struct vmm *m)
{
	uint64_t now = mono_ms();

	for (struct zreq *z = m->zreqs; z; z = z->next)
		if (!z->retry_timer && now - z->sent_ms > ZK_REPLY_TIMEOUT_MS)
			(void)zreq_send(m, z);
}

int vmm_submit(struct vmm *m, struct vlv_job *j)
{
	return vlv_submit(m->lv, j);
}

void vmm_expand(const char *tpl, const char *node, const char *domain, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = tpl; *p && o + 1 < outlen; ) {
		const char *sub = NULL;
		if (strncmp(p, "{node}", 6) == 0) {
			sub = node;
			p += 6;
		} else if (strncmp(p, "{domain}", 8) == 0) {
			sub = domain;
			p += 8;
		}
		if (sub) {
			size_t l = strlen(sub);
			if (o + l >= outlen)
				l = outlen - o - 1;
			memcpy(out + o, sub, l);
			o += l;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
}

/* ---- figures and status ---------------------------------------------------------- */

static int by_run_order(const void *a, const void *b)
{
	const struct vm_rec *x = *(struct vm_rec *const *)a, *y = *(struct vm_rec *const *)b;

	return x->run_order < y->run_order ? -1 : x->run_order > y->run_order;
}

static void send_stats(struct vmm *m)
{
	struct vm_rec **run = calloc(m->nrecs + 1, sizeof(*run));
	unsigned long long mem = 0, vcpu = 0;
	size_t nrun = 0, busy = 0, unknown = 0, conflicts = 0;
	char a[32], b[32], c[32], sbusy[32], srun[32];
	char unk[512] = "", conf[512] = "";

	if (run == NULL)
		return;
	for (size_t i = 0; i < m->nrecs; i++) {
		struct vm_rec *r = m->recs[i];
		if (r->act != VA_NONE)
			busy++;
		if (r->lv == LV_ABSENT)
			continue;
		if (!r->known) {
			if (m->synced && unknown++ < 8) {
				strncat(unk, unk[0] ? "," : "", sizeof(unk) - strlen(unk) - 1);
				strncat(unk, r->uuid, sizeof(unk) - strlen(unk) - 1);
			}
			continue;
		}
		run[nrun++] = r;
		mem += r->mem_kib / 1024;
		vcpu += r->vcpus;
		/* migrate and shutdown are a sender's legitimate states, not conflicts */
		if (!vm_owner(m, r) && strcmp(r->state, "migrate") != 0 &&
		    strcmp(r->state, "shutdown") != 0 && conflicts++ < 8) {
			strncat(conf, conf[0] ? "," : "", sizeof(conf) - strlen(conf) - 1);
			strncat(conf, r->uuid, sizeof(conf) - strlen(conf) - 1);
		}
	}
	qsort(run, nrun, sizeof(*run), by_run_order);
	{
		/* the running list as one space-separated string */
		size_t len = 0;
		char *list = malloc(nrun * VLV_UUID_LEN + 1);
		if (list) {
			list[0] = '\0';
			for (size_t i = 0; i < nrun; i++) {
				memcpy(list + len, run[i]->uuid, 36);
				len += 36;
				if (i + 1 < nrun)
					list[len++] = ' ';
			}
			list[len] = '\0';
			snprintf(a, sizeof(a), "%llu", mem);
			snprintf(b, sizeof(b), "%llu", vcpu);
			snprintf(c, sizeof(c), "%zu", nrun);
			{
				const char *v[4] = {a, b, c, list};
				if (m->synced)
					(void)worker_send_strv(m->w, MSG_VM_STATS, ROLE_ZK, v, 4);
			}
			free(list);
		}
	}
	free(run);
	snprintf(srun, sizeof(srun), "vms_running=%zu", nrun);
	snprintf(sbusy, sizeof(sbusy), "busy=%zu", busy);
	{
		char s_unk[560], s_conf[560], s_lv[40], s_n[40];
		snprintf(s_unk, sizeof(s_unk), "unknown_domains=%s%s", unk, unknown > 8 ? ",..." : "");
		snprintf(s_conf, sizeof(s_conf), "conflicts=%s%s", conf, conflicts > 8 ? ",..." : "");
		snprintf(s_lv, sizeof(s_lv), "libvirt=%s", m->reconnecting ? "reconnecting" : "connected");
		snprintf(s_n, sizeof(s_n), "vms_known=%zu", m->nrecs - unknown);
		const char *kv[6] = {srun, sbusy, s_lv, s_unk, s_conf, s_n};
		char joined[sizeof(m->last_status)];
		snprintf(joined, sizeof(joined), "%s|%s|%s|%s|%s|%s", kv[0], kv[1], kv[2], kv[3], kv[4], kv[5]);
		if (strcmp(joined, m->last_status) != 0) {
			strlcpy_pvc(m->last_status, joined, sizeof(m->last_status));
			(void)worker_status(m->w, kv, 6);
		}
		snprintf(joined, sizeof(joined), "%s|%s", unk, conf);
		if (strcmp(joined, m->last_foreign) != 0) {
			strlcpy_pvc(m->last_foreign, joined, sizeof(m->last_foreign));
			if (unknown || conflicts)
				log_warnx("libvirt domains not managed here: unknown to PVC [%s], "
					  "owned by another node [%s]", unk, conf);
		}
	}
}

static void stats_cb(struct ev_loop *loop, void *arg)
{
	struct vmm *m = arg;

	m->stats_pending = 0;
	send_stats(m);
}

void vmm_stats_changed(struct vmm *m)
{
	/* coalesce every change made while handling one batch of input */
	if (!m->stats_pending && ev_timer(m->w->loop, 0, stats_cb, m) != 0)
		m->stats_pending = 1;
}

/* ---- libvirt results -------------------------------------------------------------- */

static void submit_list(struct vmm *m)
{
	struct vlv_job *j;

	if (m->list_inflight || m->reconnecting)
		return;
	j = vlv_job_new(VLV_LIST, NULL, 0);
	if (j == NULL)
		return;
	m->list_inflight = 1;
	m->list_seq = m->evseq;
	(void)vmm_submit(m, j);
}

static void evaluate_all(struct vmm *m)
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
		vm_evaluate(m, c[i]);
	}
	free(c);
}

static void handle_list(struct vmm *m, struct vlv_job *j)
{
	m->list_inflight = 0;
	if (j->rc != 0) {
		log_warnx("libvirt: %s", j->err);
		vmm_stats_changed(m);
		return;
	}
	for (size_t i = 0; i < j->nlist; i++) {
		struct vlv_dominfo *d = &j->list[i];
		if (!valid_uuid(d->uuid))
			continue;
		struct vm_rec *r = vm_get(m, d->uuid);
		if (r == NULL)
			continue;
		if (!r->known && r->name[0] == '\0')
			strlcpy_pvc(r->name, d->name, sizeof(r->name));
		if (r->act != VA_NONE || r->lv_seq > m->list_seq)
			continue; /* newer knowledge than this listing */
		r->mem_kib = d->mem_kib;
		r->vcpus = d->vcpus;
		if (r->lv != d->state) {
			r->lv = d->state == LV_ABSENT ? LV_OTHER : d->state;
			if (r->run_order == 0)
				r->run_order = ++m->run_seq;
			r->lv_seq = ++m->evseq;
		}
	}
	/* whatever is not listed is not active */
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
			vm_free_rec(m, r);
			continue;
		}
		i++;
	}
	if (!m->listed) {
		m->listed = 1;
		log_info("libvirt: %zu active domain(s) found", j->nlist);
	}
	vmm_stats_changed(m);
	evaluate_all(m);
}

static void reconnect_cb(struct ev_loop *loop, void *arg)
{
	struct vmm *m = arg;
	struct vlv_job *j = vlv_job_new(VLV_CONNECT, NULL, 0);

	if (j == NULL || vmm_submit(m, j) != 0) {
		vlv_job_free(j);
		(void)ev_timer(loop, (uint64_t)m->reconnect_ms, reconnect_cb, m);
	}
}

static void lost_connection(struct vmm *m, const char *why)
{
	if (m->reconnecting)
		return;
	log_errx("libvirt connection lost (%s): reconnecting", why);
	m->reconnecting = 1;
	m->listed = 0;
	m->reconnect_ms = 500;
	(void)ev_timer(m->w->loop, (uint64_t)m->reconnect_ms, reconnect_cb, m);
	vmm_stats_changed(m);
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

static void vlv_done(struct vlv_job *j, void *arg)
{
	struct vmm *m = arg;
	struct vm_rec *r;

	switch (j->op) {
	case VLV_EVENT:
		if (j->ev_closed) {
			lost_connection(m, "connection closed");
			return;
		}
		if (!valid_uuid(j->uuid))
			return;
		{
			int lv = event_to_lv(j->ev_type, j->ev_detail);
			log_debug("libvirt event %d/%d for %s", j->ev_type, j->ev_detail, j->uuid);
			if (lv < 0) {
				submit_list(m);
				return;
			}
			r = lv == LV_ABSENT ? vm_find(m, j->uuid) : vm_get(m, j->uuid);
			if (r)
				vm_observed(m, r, lv, 1);
		}
		return;
	case VLV_CONNECT:
		if (j->rc != 0) {
			m->reconnect_ms = m->reconnect_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS
										  : m->reconnect_ms * 2;
			log_warnx("libvirt: %s (next attempt in %d ms)", j->err, m->reconnect_ms);
			(void)ev_timer(m->w->loop, (uint64_t)m->reconnect_ms, reconnect_cb, m);
			return;
		}
		log_ok("libvirt: connected to %s", m->cfg->libvirt_uri);
		m->reconnecting = 0;
		submit_list(m);
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
	r = vm_find(m, j->uuid);
	if (r)
		vm_job_done(m, r, j);
}

/* ---- zk-election -------------------------------------------------------------------- */

static void handle_domain(struct vmm *m, struct ipc_strv *sv)
{
	struct vm_rec *r;
	long long version;
	const char *uuid, *name, *state, *node, *lastnode;

	if (sv->n != 6) {
		log_warnx("VM_DOMAIN with %u fields ignored", sv->n);
		return;
	}
	uuid = sv->v[0], name = sv->v[1], state = sv->v[2], node = sv->v[3], lastnode = sv->v[4];
	if (!valid_uuid(uuid)) {
		log_warnx("VM_DOMAIN with an invalid UUID ignored");
		return;
	}
	if (!vm_state_valid(state)) {
		log_warnx("vm %s: unknown state '%.32s' ignored", uuid, state);
		return;
	}
	if (!valid_node_name(node) || (lastnode[0] && !valid_node_name(lastnode))) {
		log_warnx("vm %s: invalid node '%.64s' or lastnode ignored", uuid, node);
		return;
	}
	if (parse_ll(sv->v[5], 0, 0x7fffffff, &version) != 0) {
		log_warnx("vm %s: invalid version ignored", uuid);
		return;
	}
	r = vm_get(m, uuid);
	if (r == NULL) {
		log_errx("out of memory");
		return;
	}
	r->seen_gen = m->sync_gen;
	if (r->known && version < r->version) {
		log_debug("vm %s: stale state %s (version %lld < %lld) ignored", uuid, state, version,
			  r->version);
		return;
	}
	/* Moved here from a node where it ran, with at least one state write in
	 * between that we never saw, now shutdown/stop: a migration whose cold fallback
	 * was coalesced away (see vm_evaluate). */
	if (r->known && strcmp(r->node, m->cfg->node_name) != 0 &&
	    strcmp(node, m->cfg->node_name) == 0 && version >= r->version + 2 &&
	    (strcmp(r->state, "start") == 0 || strcmp(r->state, "migrate") == 0 ||
	     strcmp(r->state, "shutdown") == 0) &&
	    (strcmp(state, "stop") == 0 || strcmp(state, "shutdown") == 0))
		r->infer_cold = 1;
	if (!r->known)
		vmm_stats_changed(m);
	r->known = 1;
	r->gone = 0;
	strlcpy_pvc(r->name, name[0] && strlen(name) < sizeof(r->name) ? name : uuid, sizeof(r->name));
	strlcpy_pvc(r->state, state, sizeof(r->state));
	strlcpy_pvc(r->node, node, sizeof(r->node));
	strlcpy_pvc(r->lastnode, lastnode, sizeof(r->lastnode));
	r->version = version;
	log_debug("vm %s: state=%s node=%s version=%lld", r->name, state, node, version);
	vm_state_changed(m, r);
}

static void forget_domain(struct vmm *m, struct vm_rec *r)
{
	if (!r->known)
		return;
	log_info("vm %s: removed from PVC", r->name);
	r->known = 0;
	vmm_stats_changed(m);
	if (r->act != VA_NONE)
		r->gone = 1;
	else if (r->lv == LV_ABSENT)
		vm_free_rec(m, r);
}

static void handle_sync_done(struct vmm *m)
{
	/* VMs not re-sent in this sync were deleted while we were not listening */
	for (size_t i = 0; i < m->nrecs; ) {
		struct vm_rec *r = m->recs[i];
		size_t before = m->nrecs;
		if (r->known && r->seen_gen != m->sync_gen)
			forget_domain(m, r);
		if (m->nrecs == before)
			i++;
	}
	m->sync_gen++;
	if (!vm_selffence_sync_done(m))
		return; /* self-fenced: no VM is acted upon before a fresh list (docs/fencing.md) */
	if (!m->synced) {
		size_t known = 0;
		for (size_t i = 0; i < m->nrecs; i++)
			known += m->recs[i]->known != 0;
		log_info("VM list from ZooKeeper complete (%zu VMs)", known);
	}
	m->synced = 1;
	vmm_stats_changed(m);
	evaluate_all(m);
}

void vm_dispatch_zk(struct worker *w, struct ipc_msg *msg);

void vm_dispatch_zk(struct worker *w, struct ipc_msg *msg)
{
	struct vmm *m = w->ctx;
	struct ipc_strv sv;
	const char *err = NULL;

	if (msg->hdr.sender != ROLE_ZK) {
		log_warnx("%s from %s ignored", ipc_type_name(msg->hdr.type), role_name(msg->hdr.sender));
		return;
	}
	if (m->lv == NULL)
		return; /* hypervisor function disabled */
	if (msg->hdr.type == MSG_VM_KEEPALIVE) {
		vm_selffence_keepalive(m, msg);
		return;
	}
	if (msg->hdr.type == MSG_VM_SYNC_DONE) {
		handle_sync_done(m);
		return;
	}
	if (msg->hdr.type != MSG_VM_DOMAIN && msg->hdr.type != MSG_VM_DOMAIN_GONE &&
	    msg->hdr.type != MSG_ZK_REPLY) {
		log_warnx("unexpected %s from zk-election", ipc_type_name(msg->hdr.type));
		return;
	}
	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
		log_warnx("bad %s payload: %s", ipc_type_name(msg->hdr.type), err ? err : "?");
		return;
	}
	if (msg->hdr.type == MSG_VM_DOMAIN) {
		handle_domain(m, &sv);
	} else if (msg->hdr.type == MSG_ZK_REPLY) {
		handle_zk_reply(m, &sv);
	} else if (sv.n == 1 && valid_uuid(sv.v[0])) {
		struct vm_rec *r = vm_find(m, sv.v[0]);
		if (r)
			forget_domain(m, r);
	} else {
		log_warnx("malformed VM_DOMAIN_GONE ignored");
	}
	ipc_strv_free(&sv);
}

/* ---- process ------------------------------------------------------------------------- */

static void keepalive_cb(struct ev_loop *loop, void *arg)
{
	struct vmm *m = arg;
	int s = m->cfg->keepalive_interval > 0 ? m->cfg->keepalive_interval : 5;

	(void)ev_timer(loop, (uint64_t)s * 1000, keepalive_cb, m);
	/* refreshes figures, catches missed events, reconciles; its result sends the
	 * figures (or the failure path does, with what is known) */
	if (m->list_inflight || m->reconnecting)
		send_stats(m);
	submit_list(m);
}

static void second_cb(struct ev_loop *loop, void *arg)
{
	struct vmm *m = arg;

	(void)ev_timer(loop, 1000, second_cb, m);
	zreq_sweep(m);
	vm_console_tick(m);
}

static void vm_shutdown(struct worker *w, uint32_t phase)
{
	/* VMs outlive the daemon (as in the reference): moving them off is flush's job */
	worker_shutdown_done(w, phase);
}

int vm_manager_seccomp_rules(void *scmp_ctx);

int vm_manager_seccomp_rules(void *scmp_ctx)
{
	scmp_filter_ctx ctx = scmp_ctx;
	/* what the libvirt client library and its GLib event loop use beyond the
	 * common set (measured with strace on test:// and test+unix:// URIs) */
	static const int sys[] = {
		SCMP_SYS(connect), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
		SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown),
		SCMP_SYS(pipe2), SCMP_SYS(eventfd2), SCMP_SYS(dup), SCMP_SYS(dup3),
		SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
		SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64),
		SCMP_SYS(getcwd), SCMP_SYS(pread64),
	};

	if (sandbox_rules_threads(ctx) != 0 || sandbox_rules_files_ro(ctx) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sys[i], 0) != 0)
			return -1;
	/* the local libvirt socket only: no network */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) != 0)
		return -1;
	return 0;
}

/* test:///path/node.xml?... -> /path/node.xml (the test driver reads it on reconnect) */
static void test_driver_file(const char *uri, char *out, size_t len)
{
	const char *p = NULL;

	out[0] = '\0';
	if (strncmp(uri, "test:///", 8) == 0)
		p = uri + 7;
	else if (strncmp(uri, "test+unix:///", 13) == 0)
		p = uri + 12;
	if (p == NULL || strncmp(p, "/default", 8) == 0)
		return;
	strlcpy_pvc(out, p, len);
	out[strcspn(out, "?")] = '\0';
}

int vm_manager_main(void)
{
	static struct worker w;
	static struct vmm m;
	char err[512], tfile[CFG_PATH_MAX];
	const char *ro[4] = {NULL, NULL, NULL, NULL};
	struct sandbox_spec spec = {0};
	int nro = 0;

	worker_start(&w, ROLE_VM, vm_dispatch_zk, vm_shutdown, &m);
	m.w = &w;
	m.cfg = &w.cfg;
	spec.user = w.cfg.worker_user[0] ? w.cfg.worker_user : NULL;
	spec.extra_group = getgrnam("libvirt") ? "libvirt" : NULL;
	spec.keep_caps = 0;
	spec.allow_fork = 0;
	spec.seccomp_rules = vm_manager_seccomp_rules;
	if (!w.cfg.enable_hypervisor) {
		if (sandbox_enter(&spec) != 0)
			return PVC_WORKER_EXIT_PERMANENT;
		worker_ready(&w);
		log_info("hypervisor function disabled: vm-manager idle");
		{
			const char *kv[1] = {"hypervisor=disabled"};
			(void)worker_status(&w, kv, 1);
		}
		return worker_run(&w);
	}
	if (vlv_global_init() != 0) {
		log_errx("libvirt initialisation failed");
		return PVC_WORKER_EXIT_PERMANENT;
	}
	m.lv = vlv_open(w.cfg.libvirt_uri, w.loop, vlv_done, &m, err, sizeof(err));
	if (m.lv == NULL) {
		log_errx("libvirt: %s", err);
		return 1;
	}
	if (!vlv_connected(m.lv)) {
		log_errx("libvirt: %s", err);
		m.reconnecting = 1;
	}
	if (w.cfg.console_log_directory[0])
		ro[nro++] = w.cfg.console_log_directory;
	test_driver_file(w.cfg.libvirt_uri, tfile, sizeof(tfile));
	if (tfile[0])
		ro[nro++] = tfile;
	ro[nro++] = "/etc/libvirt";
	spec.ro_paths = ro;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	/* threads after confinement: they inherit the seccomp filter and credentials */
	if (vlv_start(m.lv, POOL_THREADS) != 0) {
		log_errx("cannot start libvirt threads");
		return 1;
	}
	worker_ready(&w);
	vm_selffence_init(&m);
	(void)worker_send(&w, MSG_VM_HELLO, ROLE_ZK, NULL, 0);
	if (m.reconnecting) {
		m.reconnect_ms = 500;
		(void)ev_timer(w.loop, (uint64_t)m.reconnect_ms, reconnect_cb, &m);
	}
	(void)ev_timer(w.loop, 0, keepalive_cb, &m);
	(void)ev_timer(w.loop, 1000, second_cb, &m);
	send_stats(&m);
	return worker_run(&w);
}
