/*
 * vm.c: one VM of a flush/unflush job: reading its keys, waiting for a state to
 * settle or a move to land, placement writes and the end of its turn. What to do
 * with the keys read, and what follows a turn, are job.c's hooks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pvc.h"
#include "flush_int.h"

static const char *const vkey_name[K_NKEYS] = {"state", "node", "lastnode", "node_limit",
					      "node_selector", "node_autostart", NULL};

/* ---- helpers -------------------------------------------------------------------- */

int flush_vm_is_transient(const char *state)
{
	return state && (strcmp(state, "migrate") == 0 || strcmp(state, "unmigrate") == 0 ||
			 strcmp(state, "shutdown") == 0 || strcmp(state, "restart") == 0);
}

static int list_contains(const char *list, const char *uuid)
{
	size_t n = strlen(uuid);

	for (const char *p = list; p && *p;) {
		while (*p == ' ')
			p++;
		if (strncmp(p, uuid, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p = strchr(p, ' ');
	}
	return 0;
}

static void set_val(struct fvm *vm, int k, const char *s)
{
	free(vm->val[k]);
	vm->val[k] = s ? strdup(s) : NULL;
	if (s && vm->val[k] == NULL)
		vm->read_error = 1;
}

void flush_vm_free_nodes(struct fvm *vm)
{
	for (uint32_t i = 0; i < vm->nnodes; i++)
		free(vm->nodes[i]);
	for (uint32_t i = 0; vm->figs && i < vm->nnodes * NFIG; i++)
		free(vm->figs[i]);
	free(vm->nodes);
	free(vm->figs);
	vm->nodes = vm->figs = NULL;
	vm->nnodes = 0;
}

void flush_vm_clear(struct fvm *vm)
{
	for (int k = 0; k < K_NKEYS; k++) {
		free(vm->val[k]);
		vm->val[k] = NULL;
	}
	flush_vm_free_nodes(vm);
}

/* ---- per-VM end states ---------------------------------------------------------- */

void flush_vm_finish(struct flush_job *j, int vmi, int moved, const char *why)
{
	struct fvm *vm = &j->vms[vmi];

	if (vm->step == VS_DONE)
		return;
	if (vm->timer) {
		ev_timer_cancel(j->loop, vm->timer);
		vm->timer = 0;
	}
	vm->vseq++;
	vm->outstanding = 0;
	vm->step = VS_DONE;
	j->active--;
	if (moved > 0) {
		j->moved++;
		log_info("%s: VM %s %s in %llu ms", kind_name(j->kind), vm->uuid,
			 why ? why : "moved", (unsigned long long)(mono_ms() - vm->started));
	} else if (moved < 0) {
		size_t ol = j->failed ? strlen(j->failed) : 0;
		char *f = realloc(j->failed, ol + UUID_LEN + 2);
		if (f != NULL) {
			snprintf(f + ol, UUID_LEN + 2, "%s%s", ol ? "," : "", vm->uuid);
			j->failed = f;
		}
		j->failed_n++;
		log_warnx("%s: VM %s: %s; continuing", kind_name(j->kind), vm->uuid, why);
	} else if (why) {
		log_info("%s: VM %s: %s", kind_name(j->kind), vm->uuid, why);
	}
	flush_vm_clear(vm);
	notify_status(j);
	j->hooks.vm_done(j);
}

/* ---- reading a VM and deciding -------------------------------------------------- */


static void vm_wait_eval(struct flush_job *j, int vmi);
static void vm_settle_eval(struct flush_job *j, int vmi);
static void vm_tick(struct flush_job *j, int vmi);

static void vm_poll(struct ev_loop *loop, void *arg)
{
	struct fvm *vm = arg;

	vm->timer = 0;
	vm_tick(vm->job, vm->idx);
}

static void vm_schedule(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];

	vm->timer = ev_timer(j->loop, j->p.poll_ms, vm_poll, vm);
	if (vm->timer == 0)
		flush_vm_finish(j, vmi, -1, "out of memory (timer)");
}

static void on_vm_key(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep)
{
	struct fvm *vm = &j->vms[r->vmi];

	if (rc == 0) {
		set_val(vm, r->tag, rep->v[2]);
		if (r->tag == K_STATE && parse_ll(rep->v[3], 0, INT32_MAX, &vm->state_ver) != 0)
			vm->read_error = 1;
	} else if (rc == IPC_RC_NONODE) {
		set_val(vm, r->tag, NULL);
	} else {
		vm->read_error = 1;
	}
	if (vm->outstanding > 0)
		return;
	if (vm->step == VS_READ)
		j->hooks.decide(j, r->vmi);
	else if (vm->step == VS_WAIT)
		vm_wait_eval(j, r->vmi);
	else if (vm->step == VS_SETTLE)
		vm_settle_eval(j, r->vmi);
}

static int vm_get(struct flush_job *j, int vmi, int k)
{
	char path[128];

	if (k == K_RUNNING)
		snprintf(path, sizeof(path), "/nodes/%s/runningdomains", j->node);
	else
		snprintf(path, sizeof(path), "/domains/%s/%s", j->vms[vmi].uuid, vkey_name[k]);
	return flush_req_get(j, vmi, k, on_vm_key, path);
}

void flush_vm_read(struct flush_job *j, int vmi)
{
	static const int fkeys[] = {K_STATE, K_NODE, K_LASTNODE, K_LIMIT, K_SELECTOR};
	static const int ukeys[] = {K_STATE, K_NODE, K_LASTNODE, K_AUTOSTART};
	struct fvm *vm = &j->vms[vmi];
	const int *keys = j->kind == JOB_FLUSH ? fkeys : ukeys;
	size_t nk = j->kind == JOB_FLUSH ? 5 : 4;

	flush_vm_clear(vm);
	vm->read_error = 0;
	vm->step = VS_READ;
	for (size_t i = 0; i < nk; i++)
		if (vm_get(j, vmi, keys[i]) != 0) {
			flush_vm_finish(j, vmi, -1, "cannot queue a request");
			return;
		}
}

void flush_vm_settle(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];

	log_info("%s: VM %s is in state %s; waiting for it to settle", kind_name(j->kind),
		 vm->uuid, vm->val[K_STATE]);
	if (vm->step != VS_SETTLE)
		vm->deadline = mono_ms() + j->p.vm_timeout_ms;
	vm->step = VS_SETTLE;
	vm_schedule(j, vmi);
}

void flush_vm_start_wait(struct flush_job *j, int vmi, enum vwait w)
{
	struct fvm *vm = &j->vms[vmi];

	vm->step = VS_WAIT;
	vm->wait = w;
	vm->stop_since = 0;
	vm->deadline = mono_ms() + j->p.vm_timeout_ms;
	notify_status(j);
	vm_tick(j, vmi);
}

static void vm_tick(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];

	if (mono_ms() >= vm->deadline) {
		char why[200];
		snprintf(why, sizeof(why), "%s after %llu s (state %.16s, node %.63s)",
			 vm->step == VS_WAIT ? "move timed out" : "state did not settle",
			 (unsigned long long)(j->p.vm_timeout_ms / 1000),
			 vm->val[K_STATE] ? vm->val[K_STATE] : "?",
			 vm->val[K_NODE] ? vm->val[K_NODE] : "?");
		flush_vm_finish(j, vmi, -1, why);
		return;
	}
	vm->read_error = 0;
	if (vm_get(j, vmi, K_STATE) != 0 ||
	    (vm->step == VS_WAIT && (vm_get(j, vmi, K_NODE) != 0 || vm_get(j, vmi, K_RUNNING) != 0)))
		flush_vm_finish(j, vmi, -1, "cannot queue a request");
}

static void vm_settle_eval(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];

	if (vm->read_error || flush_vm_is_transient(vm->val[K_STATE])) {
		vm_schedule(j, vmi);
		return;
	}
	if (j->cancel) {
		flush_vm_finish(j, vmi, 0, "cancelled");
		return;
	}
	flush_vm_read(j, vmi);
}

static void vm_wait_eval(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];
	const char *st = vm->val[K_STATE], *node = vm->val[K_NODE];
	int here, home, transient;
	char why[160];

	if (vm->read_error) {
		vm_schedule(j, vmi);
		return;
	}
	if (st == NULL) {
		flush_vm_finish(j, vmi, 0, "deleted while waiting");
		return;
	}
	here = list_contains(vm->val[K_RUNNING], vm->uuid);
	home = node && strcmp(node, j->node) == 0;
	transient = flush_vm_is_transient(st);
	snprintf(why, sizeof(why), "state %.16s, node %.63s", st, node ? node : "?");
	/* `stop` at the destination may be a cold migration's intermediate step */
	if (strcmp(st, "stop") == 0 && vm->wait != W_SHUT) {
		uint64_t now = mono_ms();
		if (vm->stop_since == 0)
			vm->stop_since = now;
		if (now - vm->stop_since < COLD_GRACE_MS) {
			vm_schedule(j, vmi);
			return;
		}
	} else {
		vm->stop_since = 0;
	}
	switch (vm->wait) {
	case W_OUT:
		if (!transient && !here) {
			if (home)
				flush_vm_finish(j, vmi, -1, why); /* it stopped here instead of leaving */
			else if (strcmp(st, "start") == 0)
				flush_vm_finish(j, vmi, 1, NULL);
			else
				flush_vm_finish(j, vmi, -1, why); /* left, but not running at the target */
			return;
		}
		break;
	case W_SHUT:
		if (!transient && !here) {
			flush_vm_finish(j, vmi, 1, "shut down; it starts here again at unflush");
			return;
		}
		break;
	case W_IN:
		if (!transient) {
			if (home && here && strcmp(st, "start") == 0) {
				flush_vm_finish(j, vmi, 1, NULL);
				return;
			}
			if (!home || strcmp(st, "start") != 0) {
				flush_vm_finish(j, vmi, -1, why);
				return;
			}
		}
		break;
	}
	vm_schedule(j, vmi);
}

static void on_write(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep)
{
	struct fvm *vm = &j->vms[r->vmi];
	char why[64];

	if (rc == IPC_RC_BADVERSION || rc == IPC_RC_NONODE) {
		/* Someone changed the VM between our read and our write: look again. */
		if (++vm->rereads > MAX_REREADS) {
			flush_vm_finish(j, r->vmi, -1, "keeps changing under us");
			return;
		}
		flush_vm_read(j, r->vmi);
		return;
	}
	if (rc != 0) {
		snprintf(why, sizeof(why), "write refused (rc %d)", rc);
		flush_vm_finish(j, r->vmi, -1, why);
		return;
	}
	switch (r->tag) {
	case WR_OUT:
		flush_vm_start_wait(j, r->vmi, W_OUT);
		break;
	case WR_SHUT:
		flush_vm_start_wait(j, r->vmi, W_SHUT);
		break;
	case WR_IN:
		flush_vm_start_wait(j, r->vmi, W_IN);
		break;
	case WR_AUTOSTART:
		flush_vm_finish(j, r->vmi, 1, "autostart: start requested here");
		break;
	default:
		flush_vm_finish(j, r->vmi, 1, "returned home (state kept)");
		break;
	}
}

void flush_vm_count(struct flush_job *j, struct fvm *vm)
{
	if (!vm->counted) {
		vm->counted = 1;
		j->total++;
	}
	notify_status(j);
}

/* Ops are (op, key of this VM, value) triples; "setv" means CAS on state's version. */
void flush_vm_write(struct flush_job *j, int vmi, int tag, const char *const *ops, size_t nops)
{
	struct fvm *vm = &j->vms[vmi];
	char paths[5][96], setv[32];
	const char *v[15];

	snprintf(setv, sizeof(setv), "setv:%lld", vm->state_ver);
	for (size_t i = 0; i < nops && i < 5; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/domains/%s/%s", vm->uuid, ops[i * 3 + 1]);
		v[i * 3] = strcmp(ops[i * 3], "setv") == 0 ? setv : ops[i * 3];
		v[i * 3 + 1] = paths[i];
		v[i * 3 + 2] = ops[i * 3 + 2];
	}
	vm->step = VS_WRITE;
	flush_vm_count(j, vm);
	if (flush_req_issue(j, MSG_ZK_WRITE, vmi, tag, on_write, v, (uint32_t)(nops * 3)) != 0)
		flush_vm_finish(j, vmi, -1, "cannot queue a request");
}
