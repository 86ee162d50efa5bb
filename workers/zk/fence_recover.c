/*
 * fence_recover.c: recovery of a fenced node's VMs (ref §4.5 "recover VMs",
 * with §12.2 #22 fixed).
 *
 * Which VMs: every /domains/<uuid> whose `node` is the dead node and whose state
 * says it should be running there (start, restart, migrate, unmigrate), not the
 * dead node's last published runningdomains: that list may be stale (a VM started
 * after the node's last keepalive is missing from it, a VM stopped since is still
 * in it). A VM that some other live node lists as running is left alone (a
 * migration away from the dead node that completed on its target).
 *
 * Each VM: target by the flush selector (workers/flush_select.c, ref §6.3) among
 * the other nodes, then ONE transaction that checks the dead node's daemonstate
 * version (the `dead` we wrote) and the VM's state/node versions, and writes
 * state=start node=<target> lastnode=<dead>. A node that came back in between has
 * written `run`: the check fails and the recovery stops, leaving it its VMs. No
 * target: state=stop (not the reference's invalid `stopped`), node_autostart=True.
 * Finally domainstate=flushed for the dead node (same check).
 *
 * The dead node runs nothing any more, but its last runningdomains and domainscount
 * stay as it published them (ref §12.2 #22): `pvc node list` would count its VMs
 * twice once they run elsewhere. The first transaction that commits (a VM's move,
 * else the final one) also sets them to "" and "0", so no moment shows a VM both
 * on its new node and on the dead one. Keys the node never wrote are left missing.
 *
 * Before any VM is placed, the RBD locks of the recovered VMs' volumes (their
 * rbdlist) are broken through the ceph worker (ceph_cmd.c), bounded to 30 s: the dead
 * node's librbd clients hold exclusive locks that would keep the VMs from booting
 * elsewhere (later PVC versions added this too). A failure is logged and the
 * recovery goes on: a VM that cannot boot is reported by vm-manager, a VM left on a
 * dead node is not reported at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flush_select.h"
#include "log.h"
#include "zk_fence_int.h"

enum { VK_NAME, VK_NODE, VK_STATE, VK_LASTNODE, VK_LIMIT, VK_SELECTOR, VK_AUTOSTART,
       VK_RBDLIST, VK_N };
static const char *const vm_keys[VK_N] = {"", "node", "state", "lastnode", "node_limit",
					  "node_selector", "node_autostart", "rbdlist"};
enum { NK_DS, NK_DOMS, NK_MEMUSED, NK_MEMFREE, NK_MEMALLOC, NK_LOAD, NK_VCPU, NK_COUNT,
       NK_RUNNING, NK_N };
static const char *const node_keys[NK_N] = {"daemonstate", "domainstate", "memused", "memfree",
					    "memalloc", "cpuload", "vcpualloc", "domainscount",
					    "runningdomains"};

struct zf_vm {
	char uuid[37];
	char *v[VK_N];    /* values, NULL if missing */
	int32_t ver[VK_N];
};

struct zf_rec {
	struct zf_vm *vms;
	int nvms, next;
	char **nodes;     /* names */
	char *(*nv)[NK_N];/* node values */
	int nnodes;
	struct fsel_node *fs;
	char (*count)[24];/* domainscount as updated by our own placements */
	int dead;         /* index of the dead node in nodes, -1 if not listed */
	int started, stopped, skipped;
};

void zk_fence_recover_free(struct zf_rec *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->nvms; i++)
		for (int k = 0; k < VK_N; k++)
			free(r->vms[i].v[k]);
	for (int i = 0; i < r->nnodes; i++) {
		free(r->nodes[i]);
		for (int k = 0; k < NK_N; k++)
			free(r->nv[i][k]);
	}
	free(r->vms);
	free(r->nodes);
	free(r->nv);
	free(r->fs);
	free(r->count);
	free(r);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int wants_running(const char *state)
{
	return state && (strcmp(state, "start") == 0 || strcmp(state, "restart") == 0 ||
			 strcmp(state, "migrate") == 0 || strcmp(state, "unmigrate") == 0);
}

static int in_list(const char *list, const char *uuid)
{
	size_t n = strlen(uuid);

	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, uuid, n) == 0)
			return 1;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

static void next_vm(struct zk_ctx *z, struct zf_job *j);

/* ---- the dead node's stale figures --------------------------------------------------------- */

static void clear_dead_figures(const struct zf_rec *r, struct zf_multi *m, const char *node)
{
	char path[ZF_PATH];
	char *const *nv;

	if (r->dead < 0)
		return;
	nv = r->nv[r->dead];
	if (nv[NK_RUNNING] && nv[NK_RUNNING][0] != '\0') {
		snprintf(path, sizeof(path), "/nodes/%s/runningdomains", node);
		zk_fence_util_multi_set(m, path, "", -1);
	}
	if (nv[NK_COUNT] && strcmp(nv[NK_COUNT], "0") != 0) {
		snprintf(path, sizeof(path), "/nodes/%s/domainscount", node);
		zk_fence_util_multi_set(m, path, "0", -1);
	}
}

/* A transaction committed: whatever clear_dead_figures added is now true. */
static void dead_figures_cleared(struct zf_rec *r)
{
	static const char *const cleared[] = {[NK_RUNNING] = "", [NK_COUNT] = "0"};
	static const int keys[] = {NK_RUNNING, NK_COUNT};

	if (r->dead < 0)
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char **v = &r->nv[r->dead][keys[i]];
		char *c;
		/* out of memory: the old value stays, the next transaction clears again */
		if (*v == NULL || (c = strdup(cleared[keys[i]])) == NULL)
			continue;
		free(*v);
		*v = c;
	}
}

/* ---- the end: domainstate flushed ------------------------------------------------------ */

static void flushed_done(struct zk_ctx *z, struct zf_multi *m, int rc)
{
	struct zf_job *j = rc == ZCLOSING ? NULL : zk_fence_util_job_find(z, m->gen);
	char why[200];

	if (j == NULL)
		return;
	snprintf(why, sizeof(why), "recovery done in %llu ms after marking: %d VM(s) started "
		 "elsewhere, %d stopped (no target), %d skipped; domainstate %s",
		 (unsigned long long)(mono_ms() - j->marked_ms), j->rec->started, j->rec->stopped,
		 j->rec->skipped, rc == ZOK ? "flushed" : zk_session_err(rc));
	zk_fence_util_job_end(z, j, why);
}

static void finish(struct zk_ctx *z, struct zf_job *j)
{
	struct zf_multi *m = zk_fence_util_multi_new(z, j->gen);
	char path[ZF_PATH];

	if (m == NULL) {
		zk_fence_util_job_end(z, j, "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/nodes/%s/daemonstate", j->node);
	zk_fence_util_multi_check(m, path, j->ds_ver);
	snprintf(path, sizeof(path), "/nodes/%s/domainstate", j->node);
	zk_fence_util_multi_set(m, path, "flushed", -1);
	clear_dead_figures(j->rec, m, j->node);
	m->done = flushed_done;
	zk_fence_util_multi_commit(m);
}

/* ---- one VM ------------------------------------------------------------------------------ */

static void vm_done(struct zk_ctx *z, struct zf_multi *m, int rc)
{
	struct zf_job *j = rc == ZCLOSING ? NULL : zk_fence_util_job_find(z, m->gen);
	struct zf_vm *vm;

	if (j == NULL || j->rec == NULL)
		return;
	vm = &j->rec->vms[j->rec->next - 1];
	if (rc != ZOK && m->n > 0 && m->res[0].err != ZOK) {
		zk_fence_util_job_end(z, j, "came back during the recovery (daemon state changed): the "
				 "remaining VMs stay assigned to it");
		return;
	}
	if (rc != ZOK) {
		log_warnx("fence: node %s: VM %s changed meanwhile (%s): left as it is", j->node,
			  vm->uuid, zk_session_err(rc));
		j->rec->skipped++;
	} else if (m->arg) {
		dead_figures_cleared(j->rec);
		j->rec->started++;
	} else {
		dead_figures_cleared(j->rec);
		j->rec->stopped++;
	}
	next_vm(z, j);
}

/* set, or create when the key was missing (older VMs lack some keys) */
static void put(struct zf_multi *m, const char *uuid, const char *key, const char *value,
		int missing)
{
	char path[ZF_PATH];

	snprintf(path, sizeof(path), "/domains/%s/%s", uuid, key);
	if (missing)
		zk_fence_util_multi_create(m, path, value);
	else
		zk_fence_util_multi_set(m, path, value, -1);
}

static void next_vm(struct zk_ctx *z, struct zf_job *j)
{
	struct zf_rec *r = j->rec;
	struct zf_vm *vm;
	struct fsel_vm fv;
	struct fsel_result res;
	struct zf_multi *m;
	char path[ZF_PATH];
	const char *name;

	if (r->next >= r->nvms) {
		finish(z, j);
		return;
	}
	vm = &r->vms[r->next++];
	name = vm->v[VK_NAME] ? vm->v[VK_NAME] : vm->uuid;
	fv.node = j->node;
	fv.node_limit = vm->v[VK_LIMIT];
	fv.node_selector = vm->v[VK_SELECTOR];
	if (flush_select_choose(&fv, r->fs, (size_t)r->nnodes, z->cfg->target_selector, &res) != 0) {
		log_errx("fence: node %s: VM %.64s: target selection impossible (selector %s)",
			 j->node, name, z->cfg->target_selector);
		r->skipped++;
		next_vm(z, j);
		return;
	}
	if (res.note[0])
		log_warnx("fence: VM %.64s: %s", name, res.note);
	m = zk_fence_util_multi_new(z, j->gen);
	if (m == NULL) {
		zk_fence_util_job_end(z, j, "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/nodes/%s/daemonstate", j->node);
	zk_fence_util_multi_check(m, path, j->ds_ver);
	snprintf(path, sizeof(path), "/domains/%s/state", vm->uuid);
	if (res.target >= 0) {
		const char *t = r->fs[res.target].name;
		zk_fence_util_multi_set(m, path, "start", vm->ver[VK_STATE]);
		snprintf(path, sizeof(path), "/domains/%s/node", vm->uuid);
		zk_fence_util_multi_set(m, path, t, vm->ver[VK_NODE]);
		put(m, vm->uuid, "lastnode", j->node, vm->v[VK_LASTNODE] == NULL);
		if (res.write_node_selector)
			put(m, vm->uuid, "node_selector", res.selector, vm->v[VK_SELECTOR] == NULL);
		if (res.write_node_limit)
			put(m, vm->uuid, "node_limit", "", 1);
		m->arg = (void *)1;
		log_info("fence: node %s: VM %.64s -> %s (selector %s), lastnode %s", j->node, name,
			 t, res.selector, j->node);
		/* our own placements count before the target's next keepalive does */
		{
			long long c = 0;
			if (parse_ll(r->count[res.target], 0, 1LL << 40, &c) == 0)
				snprintf(r->count[res.target], sizeof(r->count[0]), "%lld", c + 1);
		}
	} else {
		zk_fence_util_multi_set(m, path, "stop", vm->ver[VK_STATE]);
		put(m, vm->uuid, "node_autostart", "True", vm->v[VK_AUTOSTART] == NULL);
		log_warnx("fence: node %s: VM %.64s: no target node: state stop, node_autostart "
			  "True (it starts when %s is readied)", j->node, name, j->node);
	}
	clear_dead_figures(r, m, j->node);
	m->done = vm_done;
	zk_fence_util_multi_commit(m);
}

/* ---- gathering ----------------------------------------------------------------------------- */

static void nodes_read(struct zk_ctx *z, struct zf_batch *b)
{
	struct zf_job *j = zk_fence_util_job_find(z, b->gen);
	struct zf_rec *r;
	int k = 0;

	if (j == NULL || (r = j->rec) == NULL)
		return;
	if (b->n != r->nnodes * NK_N) {
		zk_fence_util_job_end(z, j, "cannot read the nodes' figures: recovery abandoned");
		return;
	}
	r->fs = calloc((size_t)r->nnodes + 1, sizeof(*r->fs));
	r->count = calloc((size_t)r->nnodes + 1, sizeof(*r->count));
	if (r->fs == NULL || r->count == NULL) {
		zk_fence_util_job_end(z, j, "out of memory");
		return;
	}
	r->dead = -1;
	for (int i = 0; i < r->nnodes; i++) {
		if (strcmp(r->nodes[i], j->node) == 0)
			r->dead = i;
		for (int n = 0; n < NK_N; n++)
			r->nv[i][n] = dup_or_null(zk_fence_util_val(b, k++));
		strlcpy_pvc(r->count[i], r->nv[i][NK_COUNT] ? r->nv[i][NK_COUNT] : "",
			    sizeof(r->count[i]));
		r->fs[i] = (struct fsel_node){r->nodes[i], r->nv[i][NK_DS], r->nv[i][NK_DOMS],
					      r->nv[i][NK_MEMUSED], r->nv[i][NK_MEMFREE],
					      r->nv[i][NK_MEMALLOC], r->nv[i][NK_LOAD],
					      r->nv[i][NK_VCPU], r->count[i]};
	}
	/* a VM another live node reports running is not ours to start */
	for (int v = 0; v < r->nvms; v++) {
		for (int i = 0; i < r->nnodes; i++) {
			if (strcmp(r->nodes[i], j->node) == 0 || r->nv[i][NK_DS] == NULL ||
			    strcmp(r->nv[i][NK_DS], "run") != 0 ||
			    !in_list(r->nv[i][NK_RUNNING], r->vms[v].uuid))
				continue;
			log_warnx("fence: node %s: VM %s runs on %s: left alone", j->node,
				  r->vms[v].uuid, r->nodes[i]);
			for (int x = 0; x < VK_N; x++)
				free(r->vms[v].v[x]);
			r->vms[v] = r->vms[--r->nvms];
			r->skipped++;
			v--;
			break;
		}
	}
	log_warnx("fence: node %s: recovering %d VM(s)", j->node, r->nvms);
	next_vm(z, j);
}

static void nodes_listed(int rc, const struct String_vector *sv, const void *data)
{
	const uint64_t *gp = data;
	struct zk_ctx *z = *(struct zk_ctx *const *)(gp + 1);
	struct zf_job *j = z->closing ? NULL : zk_fence_util_job_find(z, gp[0]);
	struct zf_rec *r;
	struct zf_batch *b;
	char path[ZF_PATH];

	free((void *)data);
	if (j == NULL || (r = j->rec) == NULL)
		return;
	if (rc != ZOK) {
		zk_fence_util_job_end(z, j, "cannot list /nodes: recovery abandoned (VMs stay assigned)");
		return;
	}
	r->nodes = calloc((size_t)(sv ? sv->count : 0) + 1, sizeof(*r->nodes));
	r->nv = calloc((size_t)(sv ? sv->count : 0) + 1, sizeof(*r->nv));
	b = zk_fence_util_batch_new(z, j->gen, nodes_read);
	if (r->nodes == NULL || r->nv == NULL || b == NULL) {
		free(b);
		zk_fence_util_job_end(z, j, "out of memory");
		return;
	}
	for (int i = 0; sv && i < sv->count && r->nnodes < ZF_NODES_MAX; i++) {
		if (sv->data[i] == NULL || !zk_values_node_name(sv->data[i]))
			continue;
		if ((r->nodes[r->nnodes] = strdup(sv->data[i])) == NULL)
			break;
		for (int k = 0; k < NK_N; k++) {
			snprintf(path, sizeof(path), "/nodes/%s/%s", sv->data[i], node_keys[k]);
			(void)zk_fence_util_batch_get(b, path);
		}
		r->nnodes++;
	}
	zk_fence_util_batch_send(b);
}

static int list_with_gen(struct zk_ctx *z, struct zf_job *j, const char *path,
			 void (*cb)(int, const struct String_vector *, const void *))
{
	/* [gen, z]: the job may be gone when the answer comes */
	uint64_t *gp = malloc(sizeof(uint64_t) + sizeof(struct zk_ctx *));

	if (gp == NULL)
		return -1;
	gp[0] = j->gen;
	memcpy(gp + 1, &z, sizeof(z));
	if (!zk_session_usable(z) || zoo_aget_children(z->zh, path, 0, cb, gp) != ZOK) {
		free(gp);
		return -1;
	}
	return 0;
}

static void list_nodes(struct zk_ctx *z, struct zf_job *j)
{
	if (list_with_gen(z, j, "/nodes", nodes_listed) != 0)
		zk_fence_util_job_end(z, j, "cannot list /nodes: recovery abandoned (VMs stay assigned)");
}

static void locks_broken(struct zk_ctx *z, uint64_t gen, int ok, const char *detail)
{
	struct zf_job *j = z->closing ? NULL : zk_fence_util_job_find(z, gen);

	if (j == NULL || j->rec == NULL)
		return;
	if (ok)
		log_info("fence: node %s: RBD locks of its VMs broken (%s)", j->node, detail);
	else
		log_errx("fence: node %s: RBD locks of its VMs NOT broken (%s): they may fail "
			 "to boot elsewhere", j->node, detail);
	list_nodes(z, j);
}

/* the dead node's RBD locks on the volumes of the VMs to recover, then the nodes */
static void break_locks(struct zk_ctx *z, struct zf_job *j)
{
	struct zf_rec *r = j->rec;
	size_t len = 1;
	char *all;
	int rc;

	for (int i = 0; i < r->nvms; i++)
		len += (r->vms[i].v[VK_RBDLIST] ? strlen(r->vms[i].v[VK_RBDLIST]) : 0) + 1;
	all = calloc(1, len);
	if (all == NULL) {
		list_nodes(z, j);
		return;
	}
	for (int i = 0; i < r->nvms; i++)
		if (r->vms[i].v[VK_RBDLIST] && r->vms[i].v[VK_RBDLIST][0]) {
			if (all[0])
				strcat(all, ",");
			strcat(all, r->vms[i].v[VK_RBDLIST]);
		}
	rc = all[0] ? zk_ceph_cmd_flush(z, all, locks_broken, j->gen) : 1;
	if (rc < 0)
		log_errx("fence: node %s: cannot break the RBD locks of its VMs (%s): they may "
			 "fail to boot elsewhere", j->node,
			 z->cfg->enable_storage ? "too many volumes or requests"
						: "no ceph worker on this node: enable_storage is off");
	free(all);
	if (rc != 0)
		list_nodes(z, j);
}

static void vms_read(struct zk_ctx *z, struct zf_batch *b)
{
	struct zf_job *j = zk_fence_util_job_find(z, b->gen);
	struct zf_rec *r;
	int keep = 0;

	if (j == NULL || (r = j->rec) == NULL)
		return;
	if (b->n != r->nvms * VK_N) {
		zk_fence_util_job_end(z, j, "cannot read the VMs: recovery abandoned (VMs stay assigned)");
		return;
	}
	for (int i = 0; i < r->nvms; i++) {
		struct zf_vm *vm = &r->vms[i];
		for (int k = 0; k < VK_N; k++) {
			int idx = i * VK_N + k;
			vm->v[k] = dup_or_null(zk_fence_util_val(b, idx));
			vm->ver[k] = b->it[idx]->version;
		}
		/* the name only goes to log lines: no forged lines from a hostile name */
		for (char *c = vm->v[VK_NAME]; c && *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
				*c = '?';
		if (vm->v[VK_NODE] && strcmp(vm->v[VK_NODE], j->node) == 0 &&
		    wants_running(vm->v[VK_STATE])) {
			if (keep != i) {
				r->vms[keep] = *vm;
				memset(vm, 0, sizeof(*vm));
			}
			keep++;
		} else {
			for (int k = 0; k < VK_N; k++) {
				free(vm->v[k]);
				vm->v[k] = NULL;
			}
		}
	}
	r->nvms = keep;
	break_locks(z, j);
}

static void domains_listed(int rc, const struct String_vector *sv, const void *data)
{
	const uint64_t *gp = data;
	struct zk_ctx *z = *(struct zk_ctx *const *)(gp + 1);
	struct zf_job *j = z->closing ? NULL : zk_fence_util_job_find(z, gp[0]);
	struct zf_rec *r;
	struct zf_batch *b;
	char path[ZF_PATH];

	free((void *)data);
	if (j == NULL || (r = j->rec) == NULL)
		return;
	if (rc != ZOK) {
		zk_fence_util_job_end(z, j, "cannot list /domains: recovery abandoned (VMs stay assigned)");
		return;
	}
	r->vms = calloc((size_t)(sv ? sv->count : 0) + 1, sizeof(*r->vms));
	b = zk_fence_util_batch_new(z, j->gen, vms_read);
	if (r->vms == NULL || b == NULL) {
		free(b);
		zk_fence_util_job_end(z, j, "out of memory");
		return;
	}
	for (int i = 0; sv && i < sv->count; i++) {
		if (sv->data[i] == NULL || !zk_values_uuid(sv->data[i]))
			continue;
		strlcpy_pvc(r->vms[r->nvms].uuid, sv->data[i], sizeof(r->vms[0].uuid));
		for (int k = 0; k < VK_N; k++) {
			if (k == VK_NAME)
				snprintf(path, sizeof(path), "/domains/%s", sv->data[i]);
			else
				snprintf(path, sizeof(path), "/domains/%s/%s", sv->data[i], vm_keys[k]);
			(void)zk_fence_util_batch_get(b, path);
		}
		r->nvms++;
	}
	zk_fence_util_batch_send(b);
}

void zk_fence_recover_start(struct zk_ctx *z, struct zf_job *j)
{
	j->st = ZJ_RECOVER;
	j->rec = calloc(1, sizeof(*j->rec));
	if (j->rec == NULL) {
		zk_fence_util_job_end(z, j, "out of memory");
		return;
	}
	j->rec->dead = -1;
	if (list_with_gen(z, j, "/domains", domains_listed) != 0)
		zk_fence_util_job_end(z, j, "cannot list /domains: recovery abandoned (VMs stay assigned)");
}
