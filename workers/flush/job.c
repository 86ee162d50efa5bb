/*
 * job.c: flush and unflush as a state machine over the ZooKeeper request API.
 *
 * A job walks a snapshot of VMs (flush: /nodes/<self>/runningdomains; unflush: all of
 * /domains) with at most `in_flight` VMs active. Each VM goes READ -> (NODES ->) WRITE
 * -> WAIT, or SETTLE while a transient state (restart, shutdown, migrate) finishes.
 * Every decision is taken from values just read, never from memory of a previous
 * run: a VM found already assigned elsewhere is only waited for, and all placement
 * writes are compare-and-set on the version of `state`, so a restarted worker (or a
 * duplicated request) cannot move a VM twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pvc.h"
#include "flush_int.h"
#include "flush_select.h"

static void job_maybe_start(struct flush_job *j);

/* ---- the job -------------------------------------------------------------------- */

static const char *job_goal(enum kind k)
{
	return k == JOB_FLUSH ? "flushed" : "ready";
}

static void stop_check(struct flush_job *j)
{
	int moving = 0;
	void (*done)(void *) = j->stop_done;

	if (!j->stopping || done == NULL)
		return;
	for (size_t i = 0; i < j->nvms; i++)
		if (j->vms[i].step == VS_WRITE || j->vms[i].step == VS_WAIT)
			moving++;
	if (moving > 0)
		return;
	j->stop_done = NULL;
	if (j->stop_timer)
		ev_timer_cancel(j->loop, j->stop_timer);
	j->stop_timer = 0;
	done(j->stop_arg);
}

static void end_run(struct flush_job *j)
{
	flush_req_drop_all(j);
	for (size_t i = 0; i < j->nvms; i++) {
		if (j->vms[i].timer)
			ev_timer_cancel(j->loop, j->vms[i].timer);
		flush_vm_clear(&j->vms[i]);
	}
	if (j->final_timer)
		ev_timer_cancel(j->loop, j->final_timer);
	j->final_timer = 0;
	free(j->vms);
	j->vms = NULL;
	j->nvms = j->next = 0;
	j->active = 0;
	j->gen++;
	j->kind = JOB_IDLE;
	j->cancel = 0;
	notify_status(j);
	stop_check(j);
	job_maybe_start(j);
}

static void job_final(struct flush_job *j);

static void final_retry(struct ev_loop *loop, void *arg)
{
	struct flush_job *j = arg;

	j->final_timer = 0;
	job_final(j);
}

static void on_final_recheck(struct flush_job *j, struct freq *r, int rc,
			     const struct ipc_strv *rep)
{
	long long ver;

	if (rc == 0 && parse_ll(rep->v[3], 0, INT32_MAX, &ver) == 0) {
		if (strcmp(rep->v[2], kind_name(j->kind)) == 0) {
			/* the same request written again: finish it with the new version */
			j->ds_ver = ver;
			job_final(j);
			return;
		}
		if (ver >= j->ds_ver && strlen(rep->v[2]) < sizeof(j->ds_value)) {
			strlcpy_pvc(j->ds_value, rep->v[2], sizeof(j->ds_value));
			j->ds_ver = ver;
		}
		log_info("%s: domainstate changed to %s meanwhile; not overwriting it",
			 kind_name(j->kind), j->ds_value);
		end_run(j);
		return;
	}
	j->final_timer = ev_timer(j->loop, FINAL_RETRY_MS, final_retry, j);
}

static void on_final(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep)
{
	const char *goal = job_goal(j->kind);
	char path[128];

	if (rc == 0) {
		long long written = j->ds_ver + 1;
		if (j->failed_n)
			log_warnx("%s done with %d VM(s) not moved: %s; domainstate %s",
				  kind_name(j->kind), j->failed_n, j->failed ? j->failed : "", goal);
		else
			log_ok("%s done: %d VM(s) handled; domainstate %s", kind_name(j->kind),
			       j->moved, goal);
		/* a newer value may already have arrived while our write was in flight */
		if (j->ds_ver < written) {
			strlcpy_pvc(j->ds_value, goal, sizeof(j->ds_value));
			j->ds_ver = written;
		}
		end_run(j);
		return;
	}
	if (rc == IPC_RC_BADVERSION || rc == IPC_RC_NONODE) {
		snprintf(path, sizeof(path), "/nodes/%s/domainstate", j->node);
		if (flush_req_get(j, -1, 0, on_final_recheck, path) == 0)
			return;
	}
	log_errx("%s: cannot write domainstate %s (rc %d); retrying", kind_name(j->kind), goal, rc);
	j->final_timer = ev_timer(j->loop, FINAL_RETRY_MS, final_retry, j);
}

static void job_final(struct flush_job *j)
{
	char path[128], setv[32];
	const char *v[3];

	j->phase = PH_FINAL;
	snprintf(path, sizeof(path), "/nodes/%s/domainstate", j->node);
	snprintf(setv, sizeof(setv), "setv:%lld", j->ds_ver);
	v[0] = setv, v[1] = path, v[2] = job_goal(j->kind);
	if (flush_req_issue(j, MSG_ZK_WRITE, -1, 0, on_final, v, 3) != 0)
		j->final_timer = ev_timer(j->loop, FINAL_RETRY_MS, final_retry, j);
}

static void job_pump(struct flush_job *j)
{
	if (j->phase != PH_VMS || j->in_pump)
		return;
	j->in_pump = 1;
	if (j->cancel) {
		/* Cancellation acts between moves: VMs not yet written are dropped, the
		 * moves already written are awaited. */
		for (size_t i = 0; i < j->nvms; i++) {
			enum vstep s = j->vms[i].step;
			if (s == VS_READ || s == VS_NODES || s == VS_FIGS || s == VS_SETTLE)
				flush_vm_finish(j, (int)i, 0, NULL);
		}
	}
	while (!j->cancel && j->active < j->p.in_flight && j->next < j->nvms) {
		int vmi = (int)j->next++;
		j->active++;
		j->vms[vmi].started = mono_ms();
		flush_vm_read(j, vmi);
	}
	j->in_pump = 0;
	stop_check(j);
	if (j->active == 0 && (j->cancel || j->next >= j->nvms)) {
		if (j->cancel)
			end_run(j);
		else
			job_final(j);
	}
}

static void list_retry(struct ev_loop *loop, void *arg);

static void on_list(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep)
{
	const char *text = rc == 0 ? rep->v[2] : "";
	size_t cap = 0;
	char *copy = NULL, *save = NULL;
	int first = 1;

	if (rc != 0 && rc != IPC_RC_NONODE) {
		log_errx("%s: cannot read the VM list (rc %d); retrying", kind_name(j->kind), rc);
		j->final_timer = ev_timer(j->loop, FINAL_RETRY_MS, list_retry, j);
		return;
	}
	/* runningdomains is one space-separated value; /domains children come as fields */
	if (j->kind == JOB_FLUSH) {
		copy = strdup(text);
		if (copy == NULL)
			goto oom;
		cap = strlen(text) / 2 + 1;
	} else {
		cap = rc == 0 && rep->n > 2 ? rep->n - 2 : 1;
	}
	j->vms = calloc(cap, sizeof(*j->vms));
	if (j->vms == NULL)
		goto oom;
	for (uint32_t i = 2;; i++) {
		const char *u;
		if (j->kind == JOB_FLUSH) {
			u = strtok_r(first ? copy : NULL, " ", &save);
			first = 0;
		} else {
			u = rc == 0 && i < rep->n ? rep->v[i] : NULL;
		}
		if (u == NULL || j->nvms >= cap)
			break;
		if (!valid_uuid(u)) {
			log_warnx("%s: ignoring an invalid VM id in the list", kind_name(j->kind));
			continue;
		}
		int dup = 0;
		for (size_t k = 0; k < j->nvms; k++)
			dup |= strcmp(j->vms[k].uuid, u) == 0;
		if (dup)
			continue;
		struct fvm *vm = &j->vms[j->nvms];
		vm->job = j;
		vm->idx = (int)j->nvms;
		strlcpy_pvc(vm->uuid, u, sizeof(vm->uuid));
		j->nvms++;
	}
	free(copy);
	log_info("%s: %zu VM(s) to examine", kind_name(j->kind), j->nvms);
	j->phase = PH_VMS;
	notify_status(j);
	job_pump(j);
	return;
oom:
	free(copy);
	log_errx("%s: out of memory; retrying", kind_name(j->kind));
	j->final_timer = ev_timer(j->loop, FINAL_RETRY_MS, list_retry, j);
}

static void job_list(struct flush_job *j)
{
	char path[128];

	j->phase = PH_LIST;
	if (j->kind == JOB_FLUSH) {
		snprintf(path, sizeof(path), "/nodes/%s/runningdomains", j->node);
		if (flush_req_get(j, -1, 0, on_list, path) == 0)
			return;
	} else {
		const char *p = "/domains";
		if (flush_req_issue(j, MSG_ZK_CHILDREN, -1, 0, on_list, &p, 1) == 0)
			return;
	}
	j->final_timer = ev_timer(j->loop, FINAL_RETRY_MS, list_retry, j);
}

static void list_retry(struct ev_loop *loop, void *arg)
{
	struct flush_job *j = arg;

	j->final_timer = 0;
	job_list(j);
}

static void job_maybe_start(struct flush_job *j)
{
	enum kind k;

	if (j->stopping || j->kind != JOB_IDLE)
		return;
	if (strcmp(j->ds_value, "flush") == 0)
		k = JOB_FLUSH;
	else if (strcmp(j->ds_value, "unflush") == 0)
		k = JOB_UNFLUSH;
	else
		return;
	j->gen++;
	j->kind = k;
	j->total = j->moved = j->failed_n = 0;
	free(j->failed);
	j->failed = NULL;
	log_info("domainstate %s: starting the %s job", j->ds_value, kind_name(k));
	job_list(j);
	notify_status(j);
}

void flush_job_domainstate(struct flush_job *j, const struct ipc_strv *sv)
{
	static const char *const valid[] = {"ready", "flush", "flushed", "unflush"};
	long long ver;
	int ok = 0;

	if (sv->n != 2 || parse_ll(sv->v[1], 0, INT32_MAX, &ver) != 0) {
		log_warnx("flush: ignoring a malformed domainstate message");
		return;
	}
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		ok |= strcmp(sv->v[0], valid[i]) == 0;
	if (!ok) {
		log_warnx("flush: ignoring invalid domainstate \"%.16s\"", sv->v[0]);
		return;
	}
	if (ver < j->ds_ver)
		return; /* older than what we know (e.g. our own write already seen) */
	strlcpy_pvc(j->ds_value, sv->v[0], sizeof(j->ds_value));
	j->ds_ver = ver;
	if (j->kind == JOB_IDLE) {
		job_maybe_start(j);
		return;
	}
	if (strcmp(sv->v[0], kind_name(j->kind)) == 0)
		return; /* the same request again: carry on */
	if (!j->cancel)
		log_info("%s: cancelled by domainstate %s", kind_name(j->kind), sv->v[0]);
	j->cancel = 1;
	if (j->phase == PH_LIST)
		end_run(j);
	else if (j->phase == PH_VMS)
		job_pump(j);
	/* PH_FINAL: our CAS write fails on the new version and the recheck ends the run */
}

static void stop_bound(struct ev_loop *loop, void *arg)
{
	struct flush_job *j = arg;
	void (*done)(void *) = j->stop_done;

	j->stop_timer = 0;
	j->stop_done = NULL;
	if (done) {
		log_warnx("flush: moves still in flight at shutdown; the next start resumes them");
		done(j->stop_arg);
	}
}

void flush_job_stop(struct flush_job *j, uint64_t bound_ms, void (*done)(void *arg), void *arg)
{
	j->stopping = 1;
	j->stop_done = done;
	j->stop_arg = arg;
	if (j->kind != JOB_IDLE) {
		j->cancel = 1;
		if (j->phase == PH_LIST)
			end_run(j);
		else
			job_pump(j);
	}
	if (j->stop_done)
		j->stop_timer = ev_timer(j->loop, bound_ms, stop_bound, j);
	stop_check(j);
}

void flush_job_reply(struct flush_job *j, struct ipc_strv *sv)
{
	flush_req_reply(j, sv);
}

/* ---- status and lifetime -------------------------------------------------------- */

uint32_t flush_job_status(struct flush_job *j, const char **v, uint32_t max)
{
	size_t cap = 16;
	char *infl;
	uint32_t n = 0;
	int pending = 0;

	for (int i = 0; i < 6; i++) {
		free(j->status_buf[i]);
		j->status_buf[i] = NULL;
	}
	for (size_t i = 0; i < j->nvms; i++)
		cap += UUID_LEN + 1;
	infl = calloc(1, cap);
	for (size_t i = 0; infl && i < j->nvms; i++) {
		if (j->vms[i].step == VS_WRITE || j->vms[i].step == VS_WAIT) {
			if (infl[0])
				strcat(infl, ",");
			strcat(infl, j->vms[i].uuid);
		}
		if (j->vms[i].step == VS_QUEUED)
			pending++;
	}
	if (asprintf(&j->status_buf[0], "job=%s", kind_name(j->kind)) < 0)
		j->status_buf[0] = NULL;
	if (asprintf(&j->status_buf[1], "moved=%d", j->moved) < 0)
		j->status_buf[1] = NULL;
	if (asprintf(&j->status_buf[2], "total=%d", j->total) < 0)
		j->status_buf[2] = NULL;
	if (asprintf(&j->status_buf[3], "pending=%d", pending) < 0)
		j->status_buf[3] = NULL;
	if (asprintf(&j->status_buf[4], "in_flight=%s", infl ? infl : "") < 0)
		j->status_buf[4] = NULL;
	if (asprintf(&j->status_buf[5], "failed=%s", j->failed ? j->failed : "") < 0)
		j->status_buf[5] = NULL;
	free(infl);
	for (int i = 0; i < 6 && n < max; i++)
		if (j->status_buf[i])
			v[n++] = j->status_buf[i];
	return n;
}

const char *flush_job_kind(const struct flush_job *j)
{
	return kind_name(j->kind);
}

void flush_job_counts(const struct flush_job *j, int *total, int *moved, int *failed)
{
	*total = j->total;
	*moved = j->moved;
	*failed = j->failed_n;
}

struct flush_job *flush_job_new(struct ev_loop *loop, const struct flush_params *p,
				const struct flush_io *io)
{
	struct flush_job *j;

	if (p->node == NULL || !valid_node_name(p->node) || !flush_select_valid_selector(p->selector) ||
	    p->in_flight < 1 || p->poll_ms == 0 || p->vm_timeout_ms == 0 || io->send == NULL)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->loop = loop;
	j->p = *p;
	strlcpy_pvc(j->node, p->node, sizeof(j->node));
	strlcpy_pvc(j->selector, p->selector, sizeof(j->selector));
	j->p.node = j->node;
	j->p.selector = j->selector;
	if (j->p.retry_min_ms == 0)
		j->p.retry_min_ms = BACKOFF_MIN_MS;
	if (j->p.req_timeout_ms == 0)
		j->p.req_timeout_ms = 15000;
	j->io = *io;
	j->hooks.decide = flush_decide_vm;
	j->hooks.vm_done = job_pump;
	j->ds_ver = -1;
	{
		static unsigned instances; /* two jobs in one millisecond (tests) */
		snprintf(j->idprefix, sizeof(j->idprefix), "f%06x.",
			 (unsigned)((mono_ms() ^ ((uint64_t)getpid() << 12)) + instances++) & 0xffffffu);
	}
	flush_req_init(j);
	return j;
}

void flush_job_free(struct flush_job *j)
{
	if (j == NULL)
		return;
	j->stopping = 1;
	j->stop_done = NULL;
	if (j->stop_timer)
		ev_timer_cancel(j->loop, j->stop_timer);
	j->io.status = NULL;
	end_run(j);
	for (int i = 0; i < 6; i++)
		free(j->status_buf[i]);
	free(j->failed);
	free(j);
}
