/*
 * domain.c: the per-VM action state machines (starting actions, their timers and
 * the inputs that may cut them short). Results of their libvirt jobs and ZooKeeper
 * requests are handled in result.c, which uses the plumbing exported here.
 *
 * Every action is a short chain of asynchronous steps (ZooKeeper requests through
 * zk-election, libvirt jobs on the pool, timers). Its replies carry the action's
 * cookie; a reply for an ended action is dropped. State writes that conclude an
 * action are compare-and-set on the version of the state value the action served
 * (r->act_version), not on whatever the record holds by the time the action ends:
 * a command written meanwhile, even one with the same text, is never overwritten.
 * A failed compare-and-set is dropped; the newer command comes with the watch and
 * the table decides on it (issue #15).
 *
 * This file never calls into manager.c: libvirt jobs, ZooKeeper requests and
 * figure updates go through the callbacks in m->ops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vm_domain.h"

#define SPIN_MAX 8
#define POLL_MS 1000
#define MIGRATE_BUSY_RETRY_MS 2000
/* Receive: how long to wait past the sender's own bound before giving up. */
#define RECEIVE_MARGIN_S 30

static void tick_cb(struct ev_loop *loop, void *arg);
static void deadline_cb(struct ev_loop *loop, void *arg);

/* ---- action plumbing ------------------------------------------------------------ */

void vm_domain_stop_timers(struct vmm *m, struct vm_rec *r)
{
	if (r->deadline_timer)
		ev_timer_cancel(m->w->loop, r->deadline_timer);
	if (r->tick_timer)
		ev_timer_cancel(m->w->loop, r->tick_timer);
	r->deadline_timer = r->tick_timer = 0;
}

/* End the current action; re-evaluate on the latest state unless told not to
 * (a permanent error: wait for an outside change instead of spinning). */
void vm_domain_end(struct vmm *m, struct vm_rec *r, int reeval)
{
	vm_domain_stop_timers(m, r);
	r->act = VA_NONE;
	r->phase = PH_NONE;
	r->cookie = ++m->next_cookie;
	r->cold = 0;
	r->lookup_inflight = 0;
	free(r->w_reason);
	r->w_reason = NULL;
	m->ops->stats_changed(m);
	if (r->gone) {
		vm_record_free(m, r);
		return;
	}
	r->dirty = 0;
	if (reeval)
		vm_domain_evaluate(m, r);
}

void vm_domain_submit(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	if (j == NULL || m->ops->submit(m, j) != 0) {
		vm_libvirt_job_free(j);
		log_errx("vm %s: cannot queue a libvirt job", r->name);
		vm_domain_end(m, r, 0);
	}
}

struct vlv_job *vm_domain_job(struct vm_rec *r, enum vlv_op op)
{
	return vm_libvirt_job_new(op, r->uuid, r->cookie);
}

/* Compare-and-set of `state` (plus failedreason if given) on r->act_version,
 * answering the state value `expect`. Returns 0 if the write was sent, -1 if the
 * record already holds a newer command (the caller ends the action and the table
 * decides again). */
static int write_state(struct vmm *m, struct vm_rec *r, const char *expect, const char *newst,
		       const char *reason)
{
	char ver[32], spath[128], rpath[128];
	const char *args[7];
	uint32_t n = 4;

	if (strcmp(r->state, expect) != 0 || r->act_version < 0 || r->version != r->act_version)
		return -1;
	strlcpy_pvc(r->w_new, newst, sizeof(r->w_new));
	if (reason && r->w_reason != reason) {
		free(r->w_reason);
		r->w_reason = strdup(reason);
	}
	snprintf(ver, sizeof(ver), "setv:%lld", r->act_version);
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
	if (m->ops->zk_send(m, r, ZK_K_STATE_WRITE, MSG_ZK_WRITE, args + 1, n - 1) != 0)
		return -1;
	return 0;
}

/* write_state, or end the action when the state moved on meanwhile */
void vm_domain_conclude(struct vmm *m, struct vm_rec *r, const char *expect, const char *newst,
			const char *reason)
{
	if (write_state(m, r, expect, newst, reason) != 0) {
		log_info("vm %s: state is now %s (version %lld, not %s version %lld): not writing %s",
			 r->name, r->state, r->version, expect, r->act_version, newst);
		vm_domain_end(m, r, 1);
	}
}

void vm_domain_clear_failedreason(struct vmm *m, struct vm_rec *r)
{
	char path[128];
	const char *args[3] = {"set", path, ""};

	snprintf(path, sizeof(path), "/domains/%s/failedreason", r->uuid);
	(void)m->ops->zk_send(m, r, ZK_K_PLAIN, MSG_ZK_WRITE, args, 3);
}

static void get_xml(struct vmm *m, struct vm_rec *r)
{
	char path[128];
	const char *args[1] = {path};

	snprintf(path, sizeof(path), "/domains/%s/xml", r->uuid);
	r->phase = PH_GETXML;
	if (m->ops->zk_send(m, r, ZK_K_XML, MSG_ZK_GET, args, 1) != 0)
		vm_domain_end(m, r, 0);
}

void vm_domain_arm(struct vmm *m, struct vm_rec *r, int deadline_s)
{
	vm_domain_stop_timers(m, r);
	r->tick_timer = ev_timer(m->w->loop, POLL_MS, tick_cb, r);
	if (deadline_s > 0)
		r->deadline_timer = ev_timer(m->w->loop, (uint64_t)deadline_s * 1000, deadline_cb, r);
}

/* A migration found another job running on the domain: try again later. */
void vm_domain_migrate_busy(struct vmm *m, struct vm_rec *r)
{
	r->phase = PH_MIGRATE_BUSY;
	vm_domain_stop_timers(m, r);
	r->deadline_timer = ev_timer(m->w->loop, MIGRATE_BUSY_RETRY_MS, deadline_cb, r);
}

void vm_domain_shut_done(struct vmm *m, struct vm_rec *r)
{
	vm_domain_stop_timers(m, r);
	r->lv = LV_ABSENT;
	m->ops->stats_changed(m);
	if (r->act == VA_RESTART) {
		log_info("vm %s: shut down, starting it again (restart)", r->name);
		get_xml(m, r);
		return;
	}
	log_ok("vm %s: shut down", r->name);
	vm_domain_conclude(m, r, "shutdown", "stop", NULL);
}

/* Expand {node} and {domain} in a URI template. */
static void expand(const char *tpl, const char *node, const char *domain, char *out, size_t outlen)
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

/* ---- starting actions ------------------------------------------------------------ */

static void migrate_out(struct vmm *m, struct vm_rec *r)
{
	char uri[512], duri[512];
	const char *dom = m->cfg->cluster.domain;
	struct vlv_job *j;

	expand(m->cfg->migration_uri, r->node, dom, uri, sizeof(uri));
	expand(m->cfg->migration_dest_uri, r->node, dom, duri, sizeof(duri));
	log_info("vm %s: live migration to %s (%s, data %s)", r->name, r->node, uri, duri);
	j = vm_domain_job(r, VLV_MIGRATE);
	if (j) {
		j->uri = strdup(uri);
		j->dest_uri = strdup(duri);
		if (j->uri == NULL || j->dest_uri == NULL) {
			vm_libvirt_job_free(j);
			j = NULL;
		}
	}
	r->phase = PH_MIGRATE;
	vm_domain_stop_timers(m, r);
	r->deadline_timer = ev_timer(m->w->loop, (uint64_t)m->cfg->migration_timeout * 1000,
				     deadline_cb, r);
	vm_domain_submit(m, r, j);
}

static void start_action(struct vmm *m, struct vm_rec *r, enum vm_action a)
{
	r->act = a;
	r->dirty = 0;
	strlcpy_pvc(r->act_state, r->state, sizeof(r->act_state));
	r->act_version = r->version;
	switch (a) {
	case VA_START:
		log_info("vm %s: starting", r->name);
		get_xml(m, r);
		break;
	case VA_RESTART:
	case VA_SHUTDOWN:
		log_info("vm %s: %s (ACPI, timeout %d s)", r->name, vm_decide_action_name(a),
			 m->cfg->vm_shutdown_timeout);
		r->phase = PH_SHUT_REQ;
		vm_domain_submit(m, r, vm_domain_job(r, VLV_SHUTDOWN));
		break;
	case VA_STOP:
	case VA_TERMINATE:
		log_info("vm %s: %s (destroy)%s", r->name, vm_decide_action_name(a),
			 a == VA_TERMINATE ? ": it belongs to another node" : "");
		r->phase = PH_DESTROY;
		vm_domain_submit(m, r, vm_domain_job(r, VLV_DESTROY));
		break;
	case VA_ADOPT_WRITE_START:
	case VA_WRITE_START:
		vm_domain_conclude(m, r, r->act_state, "start", NULL);
		break;
	case VA_RECEIVE:
		log_info("vm %s: waiting to receive it from another node", r->name);
		r->phase = PH_RECV_WAIT;
		vm_domain_arm(m, r, m->cfg->migration_timeout + RECEIVE_MARGIN_S);
		break;
	case VA_MIGRATE_OUT:
		migrate_out(m, r);
		break;
	default:
		r->act = VA_NONE;
		break;
	}
}

/* 1 if a cold receive was started for a migration seen only after its fallback. */
static int infer_cold_receive(struct vmm *m, struct vm_rec *r)
{
	r->infer_cold = 0;
	if (!vm_record_owner(m, r) || r->lv == LV_RUNNING ||
	    (strcmp(r->state, "stop") != 0 && strcmp(r->state, "shutdown") != 0))
		return 0;
	/* ZooKeeper watches coalesce: migrate -> shutdown -> stop written in
	 * quick succession can reach us as just "stop". The reference's
	 * receiver would have written start on that stop; so do we. */
	log_info("vm %s: moved here and already %s on the sender: receiving (cold)",
		 r->name, r->state);
	r->act = VA_RECEIVE;
	strlcpy_pvc(r->act_state, "migrate", sizeof(r->act_state));
	r->act_version = r->version; /* the stop (or shutdown) it answers */
	r->phase = PH_RECV_WAIT;
	r->cold = 1;
	vm_domain_arm(m, r, m->cfg->vm_shutdown_timeout + RECEIVE_MARGIN_S);
	if (strcmp(r->state, "stop") == 0)
		vm_domain_conclude(m, r, "stop", "start", NULL);
	return 1;
}

void vm_domain_evaluate(struct vmm *m, struct vm_rec *r)
{
	enum vm_action a;

	if (!r->known || !vm_record_ready(m))
		return;
	if (r->act != VA_NONE) {
		r->dirty = 1;
		return;
	}
	/* our write-back lost to a newer command that the watch has not brought yet:
	 * deciding on the older value now would only act on a superseded command */
	if (r->version <= r->stale_version)
		return;
	if (r->infer_cold && infer_cold_receive(m, r))
		return;
	a = vm_decide_action(vm_record_owner(m, r), r->lv == LV_RUNNING, r->state);
	if (a == VA_NONE || a == VA_ADOPT || a == VA_FORGET)
		return; /* the running list follows libvirt's observation */
	if (++r->spin > SPIN_MAX) {
		if (r->spin == SPIN_MAX + 1)
			log_warnx("vm %s: %s keeps being needed without progress; waiting for a "
				  "change of state", r->name, vm_decide_action_name(a));
		return;
	}
	start_action(m, r, a);
}

/* ---- inputs ---------------------------------------------------------------------- */

static void recv_wait_state(struct vmm *m, struct vm_rec *r)
{
	if (strcmp(r->state, "migrate") == 0)
		return;
	if (strcmp(r->state, "shutdown") == 0) {
		if (!r->cold) {
			log_info("vm %s: sender fell back to shutdown; waiting for stop", r->name);
			r->cold = 1;
			vm_domain_arm(m, r, m->cfg->vm_shutdown_timeout + RECEIVE_MARGIN_S);
		}
		return;
	}
	if (strcmp(r->state, "stop") == 0 && vm_record_owner(m, r)) {
		log_info("vm %s: stopped on the sender: starting it here", r->name);
		r->act_version = r->version; /* answering this stop */
		vm_domain_conclude(m, r, "stop", "start", NULL);
		return;
	}
	vm_domain_end(m, r, 1);
}

/* A new VM_DOMAIN was applied to the record. */
void vm_domain_state_changed(struct vmm *m, struct vm_rec *r)
{
	r->spin = 0;
	if (r->act == VA_NONE) {
		vm_domain_evaluate(m, r);
		return;
	}
	r->dirty = 1;
	/* Actions that only wait may be cut short by the new state. */
	if (r->phase == PH_SHUT_WAIT && strcmp(r->state, r->act_state) != 0) {
		log_info("vm %s: state changed to %s during %s: re-evaluating", r->name, r->state,
			 vm_decide_action_name(r->act));
		vm_domain_end(m, r, 1);
	} else if (r->phase == PH_RECV_WAIT) {
		recv_wait_state(m, r);
	}
}

/* A libvirt observation for the record (event or lookup). */
void vm_domain_observed(struct vmm *m, struct vm_rec *r, int lv, int from_event)
{
	int was = r->lv;

	r->lv = lv;
	r->lv_seq = ++m->evseq;
	if (lv != LV_ABSENT && was == LV_ABSENT)
		r->run_order = ++m->run_seq;
	if ((lv == LV_ABSENT) != (was == LV_ABSENT))
		m->ops->stats_changed(m);
	if (r->act == VA_NONE) {
		if (from_event && was == LV_RUNNING && lv != LV_RUNNING && r->known &&
		    vm_record_owner(m, r) && strcmp(r->state, "start") == 0)
			log_warnx("vm %s stopped outside PVC: starting it again", r->name);
		if (from_event)
			r->spin = 0;
		vm_domain_evaluate(m, r);
		return;
	}
	r->dirty = 1;
	if (r->phase == PH_SHUT_WAIT && lv == LV_ABSENT)
		vm_domain_shut_done(m, r);
	else if (r->phase == PH_RECV_WAIT && lv == LV_RUNNING && !r->cold) {
		log_ok("vm %s: received, running here", r->name);
		vm_domain_conclude(m, r, "migrate", "start", NULL);
	}
}

/* ---- timers ---------------------------------------------------------------------- */

static void tick_cb(struct ev_loop *loop, void *arg)
{
	struct vm_rec *r = arg;
	struct vmm *m = r->m;

	r->tick_timer = ev_timer(loop, POLL_MS, tick_cb, r);
	/* Events normally tell us first; the poll covers a missed or absent event. */
	if (!r->lookup_inflight && (r->phase == PH_SHUT_WAIT || (r->phase == PH_RECV_WAIT && !r->cold))) {
		r->lookup_inflight = 1;
		vm_domain_submit(m, r, vm_domain_job(r, VLV_LOOKUP));
	}
}

static void migrate_abort(struct vmm *m, struct vm_rec *r)
{
	struct vlv_job *j = vm_domain_job(r, VLV_ABORT);

	log_warnx("vm %s: migration exceeded %d s: aborting it", r->name,
		  m->cfg->migration_timeout);
	if (j) {
		j->urgent = 1;
		j->cookie = 0; /* its result does not drive the action */
	}
	if (j == NULL || m->ops->submit(m, j) != 0)
		vm_libvirt_job_free(j);
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
		vm_domain_submit(m, r, vm_domain_job(r, VLV_DESTROY));
		break;
	case PH_MIGRATE:
		migrate_abort(m, r);
		break;
	case PH_MIGRATE_BUSY:
		/* try again on the latest state; waiting is progress, not a spin */
		r->spin = 0;
		vm_domain_end(m, r, 1);
		break;
	case PH_RECV_WAIT:
		snprintf(reason, sizeof(reason), "Timeout waiting for %s migration from the sender",
			 r->cold ? "cold" : "live");
		log_errx("vm %s: %s", r->name, reason);
		vm_domain_stop_timers(m, r);
		r->act_version = r->version; /* the receive ends on whatever it waits in */
		vm_domain_conclude(m, r, r->state, "fail", reason);
		break;
	default:
		break;
	}
}
