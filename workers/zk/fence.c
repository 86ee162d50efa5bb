/*
 * fence.c: dead-node detection (issue #8, docs/fencing.md), the jobs that
 * fence a node, and the self-fencing clock sent to vm-manager.
 *
 * Detection runs on coordinators after each committed keepalive of our own (at
 * most once per keepalive interval), never in maintenance mode, never while our
 * own daemon state is not `run`. A keepalive's age is judged by ZooKeeper's clock
 * only: the mtime of OUR keepalive znode, just committed, minus the mtime of
 * THEIR keepalive znode (both assigned by the ZooKeeper leader). After a gap in
 * our own keepalives (we, or ZooKeeper, were away) every node is measured from
 * our first keepalive after the gap, so that an outage of ZooKeeper does not make
 * everybody fence everybody afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "zk_fence_int.h"

#define ROUND_STALE_MS 15000 /* a round whose answers never came (session closed) */
#define SYNC_RETRY_MS 20

static struct zk_fence *F(struct zk_ctx *z)
{
	return z->fence;
}

int zk_fence_init(struct zk_ctx *z)
{
	z->fence = calloc(1, sizeof(*z->fence));
	if (z->fence == NULL)
		return -1;
	z->fence->next_gen = 1;
	z->fence->release_lock = zk_fence_lock_release;
	z->fence->free_rec = zk_fence_recover_free;
	z->fence->grace = 1;
	/* a FENCE_RESULT still queued for a previous zk-election (same ids "f1"...)
	 * must not be taken for ours: it may report a reset from before the node came
	 * back and was judged dead again */
	if (getrandom(&z->fence->id_tag, sizeof(z->fence->id_tag), 0) !=
	    (ssize_t)sizeof(z->fence->id_tag))
		z->fence->id_tag = (uint32_t)mono_ms();
	return 0;
}

/* ---- jobs ---------------------------------------------------------------------- */

static void job_new(struct zk_ctx *z, const char *node, int64_t judged_mtime)
{
	struct zf_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		log_errx("fence: out of memory");
		return;
	}
	j->z = z;
	j->gen = F(z)->next_gen++;
	strlcpy_pvc(j->node, node, sizeof(j->node));
	j->judged_mtime = judged_mtime;
	snprintf(j->id, sizeof(j->id), "f%08x-%llu", (unsigned)F(z)->id_tag,
		 (unsigned long long)j->gen);
	j->next = F(z)->jobs;
	F(z)->jobs = j;
	zk_fence_lock_start(z, j);
}

/* ---- detection ------------------------------------------------------------------ */

/* /nodes/<name>/keepalive -> name (the batch's paths are ours, so well-formed) */
static int path_node(const char *path, char *name, size_t size)
{
	const char *s = path + 7, *e = strchr(s, '/');

	if (strncmp(path, "/nodes/", 7) != 0 || e == NULL || (size_t)(e - s) >= size)
		return -1;
	memcpy(name, s, (size_t)(e - s));
	name[e - s] = '\0';
	return 0;
}

static void round_done(struct zk_ctx *z, struct zf_batch *b)
{
	struct zk_fence *f = F(z);
	int64_t own = -1, thr;
	uint64_t iv;
	char name[ZK_NAME];

	f->round_inflight = 0;
	zk_fence_util_keepalive_ms(z, &iv);
	thr = (int64_t)iv * z->cfg->fence_intervals;
	for (int i = 0; i + 1 < b->n; i += 2)
		if (path_node(b->it[i]->path, name, sizeof(name)) == 0 &&
		    strcmp(name, z->cfg->node_name) == 0 && b->it[i]->rc == ZOK)
			own = b->it[i]->mtime;
	if (own < 0) {
		log_debug("fence: own keepalive not readable: no judgement this round");
		return;
	}
	if (f->grace) {
		f->grace = 0;
		f->epoch_mtime = own;
		log_info("fence: judging keepalives from now on (ZooKeeper time %lld ms); "
			 "every node gets %lld ms from here", (long long)own, (long long)thr);
	}
	/* the state may have changed while the reads were out */
	if (z->phase != 0 || z->maintenance || strcmp(z->daemonstate, "run") != 0)
		return;
	for (int i = 0; i + 1 < b->n; i += 2) {
		const char *ds = zk_fence_util_val(b, i + 1);
		int64_t age;

		if (path_node(b->it[i]->path, name, sizeof(name)) != 0 ||
		    strcmp(name, z->cfg->node_name) == 0 || ds == NULL || strcmp(ds, "run") != 0)
			continue;
		if (b->it[i]->rc != ZOK) {
			log_debug("fence: node %s is `run` without a keepalive key: not judged", name);
			continue;
		}
		age = zk_fence_util_age(own, b->it[i]->mtime, f->epoch_mtime);
		if (!zk_fence_util_is_dead(ds, age, z->cfg->keepalive_interval, z->cfg->fence_intervals) ||
		    zk_fence_util_job_by_node(z, name))
			continue;
		log_warnx("fence: node %s: keepalive %lld ms old by ZooKeeper's clock (limit %lld "
			  "ms = %d x %llu ms): node is dead", name, (long long)(own - b->it[i]->mtime),
			  (long long)thr, z->cfg->fence_intervals, (unsigned long long)iv);
		job_new(z, name, b->it[i]->mtime);
	}
}

static void round_children(int rc, const struct String_vector *sv, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	struct zf_batch *b;
	char path[ZF_PATH];
	int n = 0;

	if (z->closing)
		return;
	if (rc != ZOK) {
		F(z)->round_inflight = 0;
		return;
	}
	b = zk_fence_util_batch_new(z, 0, round_done);
	if (b == NULL) {
		F(z)->round_inflight = 0;
		return;
	}
	for (int i = 0; sv && i < sv->count && n < ZF_NODES_MAX; i++) {
		const char *name = sv->data[i];
		if (name == NULL || !zk_values_node_name(name))
			continue;
		snprintf(path, sizeof(path), "/nodes/%s/keepalive", name);
		if (zk_fence_util_batch_exists(b, path) < 0)
			break;
		snprintf(path, sizeof(path), "/nodes/%s/daemonstate", name);
		if (zk_fence_util_batch_get(b, path) < 0)
			break;
		n++;
	}
	zk_fence_util_batch_send(b);
}

static void round_start(struct zk_ctx *z)
{
	struct zk_fence *f = F(z);
	uint64_t now = mono_ms(), iv;

	if (!z->cfg->is_coordinator || z->phase != 0 || z->maintenance || !zk_session_usable(z) ||
	    strcmp(z->daemonstate, "run") != 0 || z->cfg->fence_intervals <= 0)
		return;
	zk_fence_util_keepalive_ms(z, &iv);
	if (f->round_inflight && now - f->last_round_ms < ROUND_STALE_MS)
		return;
	if (f->last_round_ms && now - f->last_round_ms + 250 < iv)
		return;
	f->round_inflight = 1;
	f->last_round_ms = now;
	if (zoo_aget_children(z->zh, "/nodes", 0, round_children, z) != ZOK)
		f->round_inflight = 0;
}

/* ---- hooks from the keepalive and the relay ------------------------------------------ */

static void send_vm_keepalive(struct zk_ctx *z)
{
	struct ipc_u64 v = {F(z)->last_ka_sent};

	if (z->cfg->enable_hypervisor)
		(void)worker_send(z->w, MSG_VM_KEEPALIVE, ROLE_VM, &v, sizeof(v));
}

void zk_fence_keepalive_committed(struct zk_ctx *z, uint64_t sent_ms)
{
	struct zk_fence *f = F(z);

	/* a gap in our own keepalives: we or ZooKeeper were away, and so may the
	 * others have been through no fault of theirs */
	if (zk_fence_util_gap(f->last_ka_sent, sent_ms, z->cfg->keepalive_interval))
		f->grace = 1;
	if (sent_ms > f->last_ka_sent)
		f->last_ka_sent = sent_ms;
	send_vm_keepalive(z);
	zk_fence_lock_sweep(z);
	round_start(z);
}

void zk_fence_vm_hello(struct zk_ctx *z)
{
	send_vm_keepalive(z);
}

static void sync_retry(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	F(z)->sync_timer = 0;
	zk_relay_vm_sync(z);
}

static void own_ds_done(int rc, const char *value, int len, const struct Stat *stat,
			const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	char ex[64];

	if (z->closing)
		return;
	F(z)->ds_read_inflight = 0;
	if (rc == ZOK && value && len == 3 && memcmp(value, "run", 3) == 0) {
		F(z)->ds_ok_for = F(z)->ds_read_for;
		return;
	}
	log_warnx("fence: /nodes/%s/daemonstate is %s after our keepalive: the VM list waits "
		  "for a keepalive that rewrites `run`", z->cfg->node_name,
		  rc == ZOK ? zk_values_excerpt(value, len, ex, sizeof(ex)) : zk_session_err(rc));
}

/* 1 if our daemonstate has been read `run` after the last committed keepalive;
 * otherwise starts that read (one per keepalive) and returns 0. */
static int own_ds_confirmed(struct zk_ctx *z)
{
	struct zk_fence *f = F(z);
	char path[ZF_PATH];

	if (f->last_ka_sent != 0 && f->ds_ok_for == f->last_ka_sent)
		return 1;
	if (f->last_ka_sent == 0 || f->ds_read_inflight || f->ds_read_for == f->last_ka_sent ||
	    !zk_session_usable(z))
		return 0;
	snprintf(path, sizeof(path), "/nodes/%s/daemonstate", z->cfg->node_name);
	f->ds_read_for = f->last_ka_sent;
	if (zoo_aget(z->zh, path, 0, own_ds_done, z) == ZOK)
		f->ds_read_inflight = 1;
	else
		f->ds_read_for = 0;
	return 0;
}

int zk_fence_defer_sync(struct zk_ctx *z)
{
	int wait = 0, ds_wait = 0;

	/* A keepalive that commits after our return from a cut-off does not rewrite
	 * `run` when we have not yet seen the `dead` a fencer wrote (the keepalive only
	 * repairs a state it knows about), so it does not invalidate the fencer's
	 * recovery, which checks the version of that `dead`. vm-manager lifts its
	 * self-fence on this answer: give it only once our daemonstate was read `run`
	 * after the keepalive it has heard of; any recovery before that `run` is then
	 * visible below (its watch events came before the read's answer), any later
	 * one fails its check. Shutdown does not wait for it. */
	if (z->phase == 0 && !own_ds_confirmed(z))
		wait = ds_wait = 1;
	/* A VM_DOMAIN read still in flight may carry a change made while we were cut
	 * off (its watch fired on reconnection): answer once it has landed, so that
	 * SYNC_DONE means "everything ZooKeeper said before our keepalive". */
	for (int i = 0; !wait && i < z->ndoms; i++)
		if (z->doms[i].pending > 0)
			wait = 1;
	if (!wait)
		return 0;
	if (F(z)->sync_timer)
		return 1;
	F(z)->sync_timer = ev_timer(z->loop, SYNC_RETRY_MS, sync_retry, z);
	if (F(z)->sync_timer == 0) {
		log_errx("out of timers");
		return ds_wait; /* never hand over a list that may predate a recovery */
	}
	return 1;
}

/* ---- frames from the fence worker ------------------------------------------------------ */

void zk_fence_dispatch(struct zk_ctx *z, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;

	if (msg->hdr.type != MSG_FENCE_RESULT) {
		log_warnx("unexpected %s from fence", ipc_type_name(msg->hdr.type));
		return;
	}
	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
		log_warnx("fence: malformed FENCE_RESULT: %s", err ? err : "?");
		return;
	}
	zk_fence_job_result(z, &sv);
	ipc_strv_free(&sv);
}
