/*
 * decide.c: what the job does with one VM: flush (wait, select a target, shut
 * down) or unflush (autostart, pull back, return the placement only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pvc.h"
#include "flush_int.h"
#include "flush_select.h"

static const char *const fig_name[NFIG] = {"daemonstate", "domainstate", "memused", "memfree",
					  "memalloc", "cpuload", "vcpualloc", "domainscount"};

/* ---- flush: target selection ---------------------------------------------------- */

static void vm_choose(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];
	struct fsel_node *nodes = calloc(vm->nnodes ? vm->nnodes : 1, sizeof(*nodes));
	struct fsel_vm in = {vm->val[K_NODE], vm->val[K_LIMIT], vm->val[K_SELECTOR]};
	struct fsel_result res;
	const char *ops[15], *home = j->node, *lastnode = vm->val[K_LASTNODE];
	size_t n = 0;
	int tag;

	if (nodes == NULL) {
		flush_vm_finish(j, vmi, -1, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < vm->nnodes; i++) {
		char **f = &vm->figs[i * NFIG];
		nodes[i] = (struct fsel_node){vm->nodes[i], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
	}
	if (flush_select_choose(&in, nodes, vm->nnodes, j->selector, &res) != 0) {
		free(nodes);
		flush_vm_finish(j, vmi, -1, "target selection failed");
		return;
	}
	if (res.note[0])
		log_warnx("flush: VM %s: %s", vm->uuid, res.note);
	/* An existing return address survives repeated flushes (ref §6.6). */
	if (lastnode && lastnode[0]) {
		if (valid_node_name(lastnode))
			home = lastnode;
		else
			log_warnx("flush: VM %s: ignoring invalid lastnode", vm->uuid);
	}
	if (res.target >= 0) {
		strlcpy_pvc(vm->target, vm->nodes[res.target], sizeof(vm->target));
		log_info("flush: migrating VM %s to %s (selector %s)", vm->uuid, vm->target,
			 res.selector);
		ops[n++] = "setv", ops[n++] = "state", ops[n++] = "migrate";
		ops[n++] = "set", ops[n++] = "node", ops[n++] = vm->target;
		ops[n++] = "set", ops[n++] = "lastnode", ops[n++] = home;
		tag = WR_OUT;
	} else {
		log_warnx("flush: no target for VM %s (selector %s); shutting it down", vm->uuid,
			  res.selector);
		ops[n++] = "setv", ops[n++] = "state", ops[n++] = "shutdown";
		ops[n++] = "set", ops[n++] = "node_autostart", ops[n++] = "True";
		tag = WR_SHUT;
	}
	if (res.write_node_limit)
		ops[n++] = "set", ops[n++] = "node_limit", ops[n++] = "";
	if (res.write_node_selector)
		ops[n++] = "set", ops[n++] = "node_selector", ops[n++] = res.selector;
	flush_vm_free_nodes(vm);
	free(nodes);
	flush_vm_write(j, vmi, tag, ops, n / 3);
}

static void on_fig(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep)
{
	struct fvm *vm = &j->vms[r->vmi];

	if (rc == 0 && (uint32_t)r->tag < vm->nnodes * NFIG) {
		free(vm->figs[r->tag]);
		vm->figs[r->tag] = strdup(rep->v[2]); /* NULL on OOM: the node is skipped */
	}
	if (vm->outstanding == 0 && vm->step == VS_FIGS)
		vm_choose(j, r->vmi);
}

static void on_nodes(struct flush_job *j, struct freq *r, int rc, const struct ipc_strv *rep)
{
	struct fvm *vm = &j->vms[r->vmi];
	char path[128];

	if (rc != 0) {
		flush_vm_finish(j, r->vmi, -1, "cannot list /nodes");
		return;
	}
	flush_vm_free_nodes(vm);
	vm->nodes = calloc(rep->n, sizeof(char *));
	vm->figs = calloc((size_t)rep->n * NFIG, sizeof(char *));
	if (vm->nodes == NULL || vm->figs == NULL) {
		flush_vm_finish(j, r->vmi, -1, "out of memory");
		return;
	}
	for (uint32_t i = 2; i < rep->n; i++) {
		if (!valid_node_name(rep->v[i])) {
			log_warnx("flush: ignoring an invalid node name under /nodes");
			continue;
		}
		if ((vm->nodes[vm->nnodes] = strdup(rep->v[i])) == NULL)
			break;
		vm->nnodes++;
	}
	vm->step = VS_FIGS;
	for (uint32_t i = 0; i < vm->nnodes; i++)
		for (int f = 0; f < NFIG; f++) {
			snprintf(path, sizeof(path), "/nodes/%s/%s", vm->nodes[i], fig_name[f]);
			if (flush_req_get(j, r->vmi, (int)(i * NFIG) + f, on_fig, path) != 0) {
				flush_vm_finish(j, r->vmi, -1, "cannot queue a request");
				return;
			}
		}
	if (vm->nnodes == 0)
		vm_choose(j, r->vmi);
}

static void vm_decide_flush(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];
	const char *st = vm->val[K_STATE], *node = vm->val[K_NODE];
	const char *path = "/nodes";
	char why[64];

	if (node == NULL || !valid_node_name(node)) {
		flush_vm_finish(j, vmi, -1, "missing or invalid node key");
		return;
	}
	if (strcmp(node, j->node) != 0) {
		/* Already assigned elsewhere (an earlier run wrote it, or the API did): never
		 * write again, only wait until it has left. */
		strlcpy_pvc(vm->target, node, sizeof(vm->target));
		log_info("flush: VM %s is already assigned to %s; waiting for it to leave", vm->uuid,
			 node);
		flush_vm_count(j, vm);
		flush_vm_start_wait(j, vmi, W_OUT);
		return;
	}
	if (strcmp(st, "start") == 0) {
		vm->step = VS_NODES;
		if (flush_req_issue(j, MSG_ZK_CHILDREN, vmi, 0, on_nodes, &path, 1) != 0)
			flush_vm_finish(j, vmi, -1, "cannot queue a request");
		return;
	}
	if (flush_vm_is_transient(st)) {
		flush_vm_settle(j, vmi);
		return;
	}
	snprintf(why, sizeof(why), "state %.16s: left alone", st);
	flush_vm_finish(j, vmi, 0, why);
}

/* ---- unflush -------------------------------------------------------------------- */

static void vm_decide_unflush(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];
	const char *st = vm->val[K_STATE], *node = vm->val[K_NODE];
	const char *last = vm->val[K_LASTNODE], *as = vm->val[K_AUTOSTART];
	int home = node && strcmp(node, j->node) == 0;

	/* A missing node_autostart counts as False (the reference crashed on it). */
	if (as && strcmp(as, "True") == 0 && home) {
		if (flush_vm_is_transient(st)) {
			flush_vm_settle(j, vmi);
			return;
		}
		log_info("unflush: starting VM %s here (node_autostart)", vm->uuid);
		const char *ops[] = {"setv", "state", "start", "set", "node", j->node,
				     "set", "lastnode", "", "set", "node_autostart", "False"};
		flush_vm_write(j, vmi, WR_AUTOSTART, ops, 4);
		return;
	}
	if (last == NULL || strcmp(last, j->node) != 0) {
		flush_vm_finish(j, vmi, 0, NULL);
		return;
	}
	if (flush_vm_is_transient(st)) {
		flush_vm_settle(j, vmi);
		return;
	}
	if (strcmp(st, "start") == 0 && !home) {
		log_info("unflush: migrating VM %s back from %s", vm->uuid, node ? node : "?");
		const char *ops[] = {"setv", "state", "migrate", "set", "node", j->node,
				     "set", "lastnode", ""};
		flush_vm_write(j, vmi, WR_IN, ops, 3);
		return;
	}
	/* Not running (or already here): only the placement returns, as the API's
	 * unmigrate does; migrating a stopped VM would end in `fail`. */
	const char *ops[] = {"set", "node", j->node, "set", "lastnode", ""};
	flush_vm_write(j, vmi, WR_RETURN, ops, 2);
}

void flush_decide_vm(struct flush_job *j, int vmi)
{
	struct fvm *vm = &j->vms[vmi];

	if (vm->read_error) {
		flush_vm_finish(j, vmi, -1, "cannot read the VM's keys");
		return;
	}
	if (vm->val[K_STATE] == NULL) {
		flush_vm_finish(j, vmi, 0, NULL); /* deleted meanwhile */
		return;
	}
	if (j->cancel) {
		flush_vm_finish(j, vmi, 0, NULL);
		return;
	}
	if (j->kind == JOB_FLUSH)
		vm_decide_flush(j, vmi);
	else
		vm_decide_unflush(j, vmi);
}
