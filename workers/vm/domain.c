/*
 * vm_domain.c: the decision table and the per-VM action state machines.
 *
 * Every action is a short chain of asynchronous steps (ZooKeeper requests through
 * zk-election, libvirt jobs on the pool, timers). Its replies carry the action's
 * cookie; a reply for an ended action is dropped. State writes that conclude an
 * action are compare-and-set on the version of the state they answer, so a request
 * written meanwhile by the API is never overwritten: the write fails, the record is
 * refreshed and the table decides again on the newer state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "log.h"
#include "vm_domain.h"

#define SPIN_MAX 8
#define POLL_MS 1000
/* Receive: how long to wait past the sender's own bound before giving up. */
#define RECEIVE_MARGIN_S 30

enum {
	PH_NONE = 0,
	PH_GETXML, PH_CREATE,
	PH_SHUT_REQ, PH_SHUT_WAIT, PH_SHUT_DESTROY,
	PH_DESTROY,
	PH_MIGRATE, PH_MIGRATE_BUSY,
	PH_RECV_WAIT,
	PH_WRITE,
};

static const char *const states[] = {"start", "restart", "shutdown", "stop", "migrate",
				     "disable", "fail", "provision", "delete", "stopped",
				     "unmigrate", NULL};

int vm_state_valid(const char *s)
{
	for (int i = 0; states[i]; i++)
		if (strcmp(s, states[i]) == 0)
			return 1;
	return 0;
}

enum vm_action vm_decide(int owner, int running, const char *state)
{
	if (state == NULL || !vm_state_valid(state))
		return VA_NONE;
#define IS(x) (strcmp(state, (x)) == 0)
	if (owner && running) {
		if (IS("start"))
			return VA_ADOPT;
		if (IS("migrate"))
			return VA_ADOPT_WRITE_START;
		if (IS("restart"))
			return VA_RESTART;
		if (IS("shutdown"))
			return VA_SHUTDOWN;
		if (IS("stop"))
			return VA_STOP;
		return VA_NONE;
	}
	if (owner) {
		if (IS("start"))
			return VA_START;
		if (IS("migrate"))
			return VA_RECEIVE;
		if (IS("restart"))
			return VA_WRITE_START;
		if (IS("shutdown") || IS("stop"))
			return VA_FORGET;
		return VA_NONE;
	}
	if (running) {
		if (IS("migrate"))
			return VA_MIGRATE_OUT;
		if (IS("shutdown"))
			return VA_SHUTDOWN;
		return VA_TERMINATE;
	}
	return VA_NONE;
#undef IS
}

const char *vm_action_name(enum vm_action a)
{
	static const char *const n[VA_COUNT] = {
		"none", "adopt", "adopt+state=start", "restart", "shutdown", "stop", "start",
		"receive", "state=start", "forget", "migrate", "terminate"};

	return a < VA_COUNT ? n[a] : "?";
}

/* ---- records ------------------------------------------------------------------- */

struct vm_rec *vm_find(struct vmm *m, const char *uuid)
{
	for (size_t i = 0; i < m->nrecs; i++)
		if (strcmp(m->recs[i]->uuid, uuid) == 0)
			return m->recs[i];
	return NULL;
}

struct vm_rec *vm_get(struct vmm *m, const char *uuid)
{
	struct vm_rec *r = vm_find(m, uuid);

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
void vm_free_rec(struct vmm *m, struct vm_rec *r)
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
	r->act = VA_NONE;
	r->known = 0;
	r->cookie = ++m->next_cookie;
	r->unlinked = 1;
	r->next_dead = m->dead;
	m->dead = r;
	if (!m->reap_timer)
		m->reap_timer = ev_timer(m->w->loop, 0, reap_cb, m);
}

int vm_owner(const struct vmm *m, const struct vm_rec *r)
{
	return strcmp(r->node, m->cfg->node_name) == 0;
}

int vm_ready_to_act(const struct vmm *m)
{
	return m->synced && m->listed && !m->reconnecting;
}

/* ---- action plumbing ------------------------------------------------------------ */

static void stop_timers(struct vmm *m, struct vm_rec *r)
{
	if (r->deadline_timer)
		ev_timer_cancel(m->w->loop, r->deadline_timer);
	if (r->tick_timer)
		ev_timer_cancel(m->w->loop, r->tick_timer);
	r->deadline_timer = r->tick_timer = 0;
}

/* End the current action; re-evaluate on the latest state unless told not to
 * (a permanent error: wait for an outside change instead of spinning). */
static void action_end(struct vmm *m, struct vm_rec *r, int reeval)
{
	stop_timers(m, r);
	r->act = VA_NONE;
	r->phase = PH_NONE;
	r->cookie = ++m->next_cookie;
	r->cold = 0;
	r->lookup_inflight = 0;
	free(r->w_reason);
	r->w_reason = NULL;
	vmm_stats_changed(m);
	if (r->gone) {
		vm_free_rec(m, r);
		return;
	}
	r->dirty = 0;
	if (reeval)
		vm_evaluate(m, r);
}

static void submit(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	if (j == NULL || vmm_submit(m, j) != 0) {
		vlv_job_free(j);
		log_errx("vm %s: cannot queue a libvirt job", r->name);
		action_end(m, r, 0);
	}
}

static struct vlv_job *job(struct vm_rec *r, enum vlv_op op)
{
	return vlv_job_new(op, r->uuid, r->cookie);
}

/* Compare-and-set of `state` (plus failedreason if given), answering the state
 * value `expect`. Returns 0 if the write was sent, -1 if the state already moved on
 * (the caller ends the action and the table decides again). */
static int write_state(struct vmm *m, struct vm_rec *r, const char *expect, const char *newst,
		       const char *reason)
{
	char ver[32], spath[128], rpath[128];
	const char *args[7];
	uint32_t n = 4;

	if (strcmp(r->state, expect) != 0 || r->version < 0)
		return -1;
	strlcpy_pvc(r->w_expect, expect, sizeof(r->w_expect));
	strlcpy_pvc(r->w_new, newst, sizeof(r->w_new));
	if (reason && r->w_reason != reason) {
		free(r->w_reason);
		r->w_reason = strdup(reason);
	}
	snprintf(ver, sizeof(ver), "setv:%lld", r->version);
	snprintf(spath, sizeof(spath), "/domains/%s/state", r->uuid);
	args[1] = ver;
	args[2] = spath;
	args[3] = newst;
	if (r->w_reason) {
		snprintf(rpath, sizeof(rpath), "/domains/%s/failedreason", r->uuid);
		args[4] = "set";
		args[5] = rpath;
		args[6] = r->w_reason;
		n = 7;
	}
	r->phase = PH_WRITE;
	if (vmm_zk_send(m, r, ZK_K_STATE_WRITE, MSG_ZK_WRITE, args + 1, n - 1) != 0)
		return -1;
	return 0;
}

/* write_state, or end the action when the state moved on meanwhile */
static void conclude(struct vmm *m, struct vm_rec *r, const char *expect, const char *newst,
		     const char *reason)
{
	if (write_state(m, r, expect, newst, reason) != 0) {
		log_info("vm %s: state is now %s (not %s): not writing %s", r->name, r->state,
			 expect, newst);
		action_end(m, r, 1);
	}
}

static void clear_failedreason(struct vmm *m, struct vm_rec *r)
{
	char path[128];
	const char *args[3] = {"set", path, ""};

	snprintf(path, sizeof(path), "/domains/%s/failedreason", r->uuid);
	(void)vmm_zk_send(m, r, ZK_K_PLAIN, MSG_ZK_WRITE, args, 3);
}

static void get_xml(struct vmm *m, struct vm_rec *r)
{
	char path[128];
	const char *args[1] = {path};

	snprintf(path, sizeof(path), "/domains/%s/xml", r->uuid);
	r->phase = PH_GETXML;
	if (vmm_zk_send(m, r, ZK_K_XML, MSG_ZK_GET, args, 1) != 0)
		action_end(m, r, 0);
}

static void tick_cb(struct ev_loop *loop, void *arg);
static void deadline_cb(struct ev_loop *loop, void *arg);

static void arm(struct vmm *m, struct vm_rec *r, int deadline_s)
{
	stop_timers(m, r);
	r->tick_timer = ev_timer(m->w->loop, POLL_MS, tick_cb, r);
	if (deadline_s > 0)
		r->deadline_timer = ev_timer(m->w->loop, (uint64_t)deadline_s * 1000, deadline_cb, r);
}

static void shut_done(struct vmm *m, struct vm_rec *r)
{
	stop_timers(m, r);
	r->lv = LV_ABSENT;
	vmm_stats_changed(m);
	if (r->act == VA_RESTART) {
		log_info("vm %s: shut down, starting it again (restart)", r->name);
		get_xml(m, r);
		return;
	}
	log_ok("vm %s: shut down", r->name);
	conclude(m, r, "shutdown", "stop", NULL);
}

static void start_action(struct vmm *m, struct vm_rec *r, enum vm_action a)
{
	struct vlv_job *j;

	r->act = a;
	r->dirty = 0;
	strlcpy_pvc(r->act_state, r->state, sizeof(r->act_state));
	switch (a) {
	case VA_START:
		log_info("vm %s: starting", r->name);
		get_xml(m, r);
		break;
	case VA_RESTART:
	case VA_SHUTDOWN:
		log_info("vm %s: %s (ACPI, timeout %d s)", r->name, vm_action_name(a),
			 m->cfg->vm_shutdown_timeout);
		r->phase = PH_SHUT_REQ;
		submit(m, r, job(r, VLV_SHUTDOWN));
		break;
	case VA_STOP:
	case VA_TERMINATE:
		log_info("vm %s: %s (destroy)%s", r->name, vm_action_name(a),
			 a == VA_TERMINATE ? ": it belongs to another node" : "");
		r->phase = PH_DESTROY;
		submit(m, r, job(r, VLV_DESTROY));
		break;
	case VA_ADOPT_WRITE_START:
	case VA_WRITE_START:
		conclude(m, r, r->act_state, "start", NULL);
		break;
	case VA_RECEIVE:
		log_info("vm %s: waiting to receive it from another node", r->name);
		r->phase = PH_RECV_WAIT;
		arm(m, r, m->cfg->migration_timeout + RECEIVE_MARGIN_S);
		break;
	case VA_MIGRATE_OUT: {
		char uri[512], duri[512];
		const char *dom = m->cfg->cluster.domain;

		vmm_expand(m->cfg->migration_uri, r->node, dom, uri, sizeof(uri));
		vmm_expand(m->cfg->migration_dest_uri, r->node, dom, duri, sizeof(duri));
		log_info("vm %s: live migration to %s (%s, data %s)", r->name, r->node, uri, duri);
		j = job(r, VLV_MIGRATE);
		if (j) {
			j->uri = strdup(uri);
			j->dest_uri = strdup(duri);
			if (j->uri == NULL || j->dest_uri == NULL) {
				vlv_job_free(j);
				j = NULL;
			}
		}
		r->phase = PH_MIGRATE;
		stop_timers(m, r);
		r->deadline_timer = ev_timer(m->w->loop, (uint64_t)m->cfg->migration_timeout * 1000,
					     deadline_cb, r);
		submit(m, r, j);
		break;
	}
	default:
		r->act = VA_NONE;
		break;
	}
}

void vm_evaluate(struct vmm *m, struct vm_rec *r)
{
	enum vm_action a;

	if (!r->known || !vm_ready_to_act(m))
		return;
	if (r->act != VA_NONE) {
		r->dirty = 1;
		return;
	}
	if (r->infer_cold) {
		r->infer_cold = 0;
		if (vm_owner(m, r) && r->lv != LV_RUNNING &&
		    (strcmp(r->state, "stop") == 0 || strcmp(r->state, "shutdown") == 0)) {
			/* ZooKeeper watches coalesce: migrate -> shutdown -> stop written in
			 * quick succession can reach us as just "stop". The reference's
			 * receiver would have written start on that stop; so do we. */
			log_info("vm %s: moved here and already %s on the sender: receiving (cold)",
				 r->name, r->state);
			r->act = VA_RECEIVE;
			strlcpy_pvc(r->act_state, "migrate", sizeof(r->act_state));
			r->phase = PH_RECV_WAIT;
			r->cold = 1;
			arm(m, r, m->cfg->vm_shutdown_timeout + RECEIVE_MARGIN_S);
			if (strcmp(r->state, "stop") == 0)
				conclude(m, r, "stop", "start", NULL);
			return;
		}
	}
	a = vm_decide(vm_owner(m, r), r->lv == LV_RUNNING, r->state);
	if (a == VA_NONE || a == VA_ADOPT || a == VA_FORGET)
		return; /* the running list follows libvirt's observation */
	if (++r->spin > SPIN_MAX) {
		if (r->spin == SPIN_MAX + 1)
			log_warnx("vm %s: %s keeps being needed without progress; waiting for a "
				  "change of state", r->name, vm_action_name(a));
		return;
	}
	start_action(m, r, a);
}

/* ---- inputs ---------------------------------------------------------------------- */

/* A new VM_DOMAIN was applied to the record. */
void vm_state_changed(struct vmm *m, struct vm_rec *r)
{
	r->spin = 0;
	if (r->act == VA_NONE) {
		vm_evaluate(m, r);
		return;
	}
	r->dirty = 1;
	/* Actions that only wait may be cut short by the new state. */
	if (r->phase == PH_SHUT_WAIT && strcmp(r->state, r->act_state) != 0) {
		log_info("vm %s: state changed to %s during %s: re-evaluating", r->name, r->state,
			 vm_action_name(r->act));
		action_end(m, r, 1);
	} else if (r->phase == PH_RECV_WAIT) {
		if (strcmp(r->state, "migrate") == 0)
			return;
		if (strcmp(r->state, "shutdown") == 0) {
			if (!r->cold) {
				log_info("vm %s: sender fell back to shutdown; waiting for stop", r->name);
				r->cold = 1;
				arm(m, r, m->cfg->vm_shutdown_timeout + RECEIVE_MARGIN_S);
			}
			return;
		}
		if (strcmp(r->state, "stop") == 0 && vm_owner(m, r)) {
			log_info("vm %s: stopped on the sender: starting it here", r->name);
			conclude(m, r, "stop", "start", NULL);
			return;
		}
		action_end(m, r, 1);
	}
}

/* A libvirt observation for the record (event or lookup). */
void vm_observed(struct vmm *m, struct vm_rec *r, int lv, int from_event)
{
	int was = r->lv;

	r->lv = lv;
	r->lv_seq = ++m->evseq;
	if (lv != LV_ABSENT && was == LV_ABSENT)
		r->run_order = ++m->run_seq;
	if ((lv == LV_ABSENT) != (was == LV_ABSENT))
		vmm_stats_changed(m);
	if (r->act == VA_NONE) {
		if (from_event && was == LV_RUNNING && lv != LV_RUNNING && r->known &&
		    vm_owner(m, r) && strcmp(r->state, "start") == 0)
			log_warnx("vm %s stopped outside PVC: starting it again", r->name);
		if (from_event)
			r->spin = 0;
		vm_evaluate(m, r);
		return;
	}
	r->dirty = 1;
	if (r->phase == PH_SHUT_WAIT && lv == LV_ABSENT)
		shut_done(m, r);
	else if (r->phase == PH_RECV_WAIT && lv == LV_RUNNING && !r->cold) {
		log_ok("vm %s: received, running here", r->name);
		conclude(m, r, "migrate", "start", NULL);
	}
}

static void tick_cb(struct ev_loop *loop, void *arg)
{
	struct vm_rec *r = arg;
	struct vmm *m = r->m;

	r->tick_timer = ev_timer(loop, POLL_MS, tick_cb, r);
	/* Events normally tell us first; the poll covers a missed or absent event. */
	if (!r->lookup_inflight && (r->phase == PH_SHUT_WAIT || (r->phase == PH_RECV_WAIT && !r->cold))) {
		r->lookup_inflight = 1;
		submit(m, r, job(r, VLV_LOOKUP));
	}
}

static void deadline_cb(struct ev_loop *loop, void *arg)
{
	struct vm_rec *r = arg;
	struct vmm *m = r->m;
	char reason[160];

	r->deadline_timer = 0;
	switch (r->phase) {
	case PH_SHUT_WAIT:
		log_warnx("vm %s: no shutdown after %d s: destroying it", r->name,
			  m->cfg->vm_shutdown_timeout);
		if (r->tick_timer)
			ev_timer_cancel(loop, r->tick_timer);
		r->tick_timer = 0;
		r->phase = PH_SHUT_DESTROY;
		submit(m, r, job(r, VLV_DESTROY));
		break;
	case PH_MIGRATE: {
		struct vlv_job *j = job(r, VLV_ABORT);
		log_warnx("vm %s: migration exceeded %d s: aborting it", r->name,
			  m->cfg->migration_timeout);
		if (j) {
			j->urgent = 1;
			j->cookie = 0; /* its result does not drive the action */
		}
		if (j == NULL || vmm_submit(m, j) != 0)
			vlv_job_free(j);
		break;
	}
	case PH_MIGRATE_BUSY:
		/* try again on the latest state; waiting is progress, not a spin */
		r->spin = 0;
		action_end(m, r, 1);
		break;
	case PH_RECV_WAIT:
		snprintf(reason, sizeof(reason), "Timeout waiting for %s migration from the sender",
			 r->cold ? "cold" : "live");
		log_errx("vm %s: %s", r->name, reason);
		stop_timers(m, r);
		conclude(m, r, r->state, "fail", reason);
		break;
	default:
		break;
	}
}

void vm_job_done(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	/* A result for an action that has ended: the world may have moved on since the
	 * call was made, so it does not count as an observation either. */
	if (j->cookie != r->cookie || r->act == VA_NONE)
		return;
	if (j->op == VLV_LOOKUP)
		r->lookup_inflight = 0;
	if (j->rc == 0 && j->op != VLV_MIGRATE && j->op != VLV_ABORT) {
		r->mem_kib = j->info.mem_kib;
		r->vcpus = j->info.vcpus;
		if (j->op != VLV_LOOKUP || r->lv != j->info.state)
			vm_observed(m, r, j->info.state, 0);
		if (r->act == VA_NONE || j->cookie != r->cookie)
			return; /* vm_observed may have ended or replaced the action */
	}
	if (j->rc != 0 && j->conn_lost) {
		log_warnx("vm %s: %s", r->name, j->err);
		action_end(m, r, 0); /* the reconnection re-evaluates everything */
		return;
	}
	switch (r->phase) {
	case PH_CREATE:
		if (j->rc == 0) {
			log_ok("vm %s: %s", r->name, j->adopted ? "already running: adopted" : "started");
			clear_failedreason(m, r);
			if (r->act == VA_RESTART)
				conclude(m, r, "restart", "start", NULL);
			else
				action_end(m, r, 1);
		} else {
			log_errx("vm %s: failed to start: %s", r->name, j->err);
			conclude(m, r, r->act_state, "fail", j->err);
		}
		break;
	case PH_SHUT_REQ:
		if (j->rc != 0) {
			log_warnx("vm %s: %s: destroying it", r->name, j->err);
			r->phase = PH_SHUT_DESTROY;
			submit(m, r, job(r, VLV_DESTROY));
		} else if (j->info.state == LV_ABSENT) {
			shut_done(m, r);
		} else {
			r->phase = PH_SHUT_WAIT;
			arm(m, r, m->cfg->vm_shutdown_timeout);
		}
		break;
	case PH_SHUT_WAIT:
		if (j->rc == 0 && j->info.state == LV_ABSENT)
			shut_done(m, r);
		break;
	case PH_SHUT_DESTROY:
		if (j->rc != 0) {
			log_errx("vm %s: destroy failed: %s", r->name, j->err);
			action_end(m, r, 0);
		} else {
			shut_done(m, r);
		}
		break;
	case PH_DESTROY:
		if (j->rc != 0) {
			log_errx("vm %s: destroy failed: %s", r->name, j->err);
			action_end(m, r, 0);
			break;
		}
		r->lv = LV_ABSENT;
		vmm_stats_changed(m);
		log_ok("vm %s: %s done", r->name, vm_action_name(r->act));
		if (r->act == VA_STOP)
			conclude(m, r, "stop", "stop", NULL);
		else
			action_end(m, r, 1);
		break;
	case PH_MIGRATE:
		if (j->rc == 0) {
			log_ok("vm %s: migrated to %s", r->name, r->node);
			vm_observed(m, r, LV_ABSENT, 0);
			action_end(m, r, 1);
		} else if (j->job_busy) {
			log_warnx("vm %s: %s: waiting for it to end", r->name, j->err);
			r->phase = PH_MIGRATE_BUSY;
			stop_timers(m, r);
			r->deadline_timer = ev_timer(m->w->loop, 2000, deadline_cb, r);
		} else {
			log_warnx("vm %s: live migration failed (%s): falling back to shutdown",
				  r->name, j->err);
			conclude(m, r, "migrate", "shutdown", NULL);
		}
		break;
	case PH_RECV_WAIT:
		/* lookups: vm_observed already handled a running domain */
		break;
	default:
		break;
	}
}

void vm_zk_done(struct vmm *m, struct vm_rec *r, int kind, int rc, const char *value,
		long long version)
{
	struct vlv_job *j;

	switch (kind) {
	case ZK_K_XML:
		if (rc != 0) {
			char reason[96];
			snprintf(reason, sizeof(reason), "cannot read the VM XML (ZooKeeper rc %d)", rc);
			log_errx("vm %s: %s", r->name, reason);
			if (rc == -101)
				conclude(m, r, r->act_state, "fail", reason);
			else
				action_end(m, r, 0);
			return;
		}
		j = job(r, VLV_CREATE);
		if (j)
			j->xml = strdup(value ? value : "");
		if (j && j->xml == NULL) {
			vlv_job_free(j);
			j = NULL;
		}
		r->phase = PH_CREATE;
		submit(m, r, j);
		break;
	case ZK_K_STATE_WRITE:
		if (rc == 0) {
			/* CAS on version v succeeded: the new version is v + 1; older echoes
			 * still in flight are ignored by version. */
			strlcpy_pvc(r->state, r->w_new, sizeof(r->state));
			r->version++;
			log_info("vm %s: state=%s", r->name, r->w_new);
			action_end(m, r, 1);
		} else if (rc == -103) {
			char path[128];
			const char *args[1] = {path};
			snprintf(path, sizeof(path), "/domains/%s/state", r->uuid);
			if (vmm_zk_send(m, r, ZK_K_STATE_GET, MSG_ZK_GET, args, 1) != 0)
				action_end(m, r, 0);
		} else {
			log_errx("vm %s: writing state=%s failed (rc %d)", r->name, r->w_new, rc);
			action_end(m, r, 0);
		}
		break;
	case ZK_K_STATE_GET:
		if (rc != 0 || value == NULL) {
			action_end(m, r, 0);
			return;
		}
		if (version >= r->version && vm_state_valid(value)) {
			strlcpy_pvc(r->state, value, sizeof(r->state));
			r->version = version;
		}
		if (strcmp(r->state, r->w_expect) == 0) {
			char e[VM_STATE_MAX], n[VM_STATE_MAX];
			strlcpy_pvc(e, r->w_expect, sizeof(e));
			strlcpy_pvc(n, r->w_new, sizeof(n));
			conclude(m, r, e, n, r->w_reason);
		} else {
			log_info("vm %s: state is now %s: not writing %s", r->name, r->state, r->w_new);
			action_end(m, r, 1);
		}
		break;
	default:
		break;
	}
}
