/*
 * fence_job.c: the fence of one node after it was marked `dead` (ref §4.5 with
 * the fixes of §12.2): saving throws spaced one keepalive interval apart, the IPMI
 * power cycle through the fence worker, the router state and /primary_node of a
 * fenced coordinator, then recovery or not per successful_fence / failed_fence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zk_fence_int.h"

#define THROWS 3

struct tok {
	struct zk_ctx *z;
	uint64_t gen;
};

static void ds_path(const struct zf_job *j, char *buf, size_t size)
{
	snprintf(buf, size, "/nodes/%s/daemonstate", j->node);
}

static void after_start(struct zk_ctx *z, struct zf_job *j);
static void ipmi_keys(struct zk_ctx *z, struct zf_batch *kb);

/* ---- saving throws -------------------------------------------------------------------- */

static void throw_done(struct zk_ctx *z, struct zf_batch *b);

static void throw_cb(struct ev_loop *loop, void *arg)
{
	struct zf_job *j = arg;
	struct zk_ctx *z = j->z;
	struct zf_batch *b;
	char path[ZF_PATH];

	j->timer = 0;
	b = zk_fence_util_batch_new(z, j->gen, throw_done);
	if (b == NULL) {
		zk_fence_util_job_end(z, j, "out of memory");
		return;
	}
	ds_path(j, path, sizeof(path));
	(void)zk_fence_util_batch_get(b, path); /* on failure the answer is "unreadable": retried */
	zk_fence_util_batch_send(b);
}

static void throw_done(struct zk_ctx *z, struct zf_batch *b)
{
	struct zf_job *j = zk_fence_util_job_find(z, b->gen);
	const char *v = zk_fence_util_val(b, 0);
	uint64_t iv;

	if (j == NULL || j->st != ZJ_THROWS)
		return;
	zk_fence_util_keepalive_ms(z, &iv);
	if (v == NULL) {
		/* unreadable (connection): not a failed throw, look again */
		log_warnx("fence: node %s: saving throw: cannot read daemon state: %s", j->node,
			  zk_session_err(b->n ? b->it[0]->rc : ZSYSTEMERROR));
		j->timer = ev_timer(z->loop, iv, throw_cb, j);
		if (j->timer == 0)
			zk_fence_util_job_end(z, j, "out of timers"); /* not a job waiting for nothing */
		return;
	}
	if (strcmp(v, "dead") != 0 || b->it[0]->version != j->ds_ver) {
		char why[200], ex[64];
		snprintf(why, sizeof(why), "came back (daemon state `%s`, version %d): fence "
			 "aborted after %d saving throw(s)",
			 zk_values_excerpt(v, (int)strlen(v), ex, sizeof(ex)), (int)b->it[0]->version,
			 j->throws);
		zk_fence_util_job_end(z, j, why);
		return;
	}
	j->throws++;
	log_warnx("fence: node %s: saving throw %d of %d failed", j->node, j->throws, THROWS);
	if (j->throws < THROWS) {
		j->timer = ev_timer(z->loop, iv, throw_cb, j);
		if (j->timer == 0)
			zk_fence_util_job_end(z, j, "out of timers");
		return;
	}
	j->st = ZJ_IPMI;
	{
		/* read the BMC keys the node published (ref §1.2) */
		struct zf_batch *k = zk_fence_util_batch_new(z, j->gen, NULL);
		char path[ZF_PATH];
		if (k == NULL) {
			zk_fence_util_job_end(z, j, "out of memory");
			return;
		}
		k->done = ipmi_keys;
		snprintf(path, sizeof(path), "/nodes/%s/ipmihostname", j->node);
		(void)zk_fence_util_batch_get(k, path);
		snprintf(path, sizeof(path), "/nodes/%s/ipmiusername", j->node);
		(void)zk_fence_util_batch_get(k, path);
		snprintf(path, sizeof(path), "/nodes/%s/ipmipassword", j->node);
		(void)zk_fence_util_batch_get(k, path);
		zk_fence_util_batch_send(k);
	}
}

void zk_fence_job_throws_start(struct zk_ctx *z, struct zf_job *j)
{
	uint64_t iv;

	zk_fence_util_keepalive_ms(z, &iv);
	j->st = ZJ_THROWS;
	j->throws = 0;
	j->timer = ev_timer(z->loop, iv, throw_cb, j);
	if (j->timer == 0)
		zk_fence_util_job_end(z, j, "out of timers");
}

/* ---- IPMI ---------------------------------------------------------------------------- */

static void req_timeout(struct ev_loop *loop, void *arg)
{
	struct zf_job *j = arg;

	j->timer = 0;
	log_errx("fence: node %s: no answer from the fence worker in %d ms: counted as failed",
		 j->node, ZF_REQ_TIMEOUT_MS);
	j->fence_ok = 0;
	after_start(j->z, j);
}

static void ipmi_keys(struct zk_ctx *z, struct zf_batch *kb)
{
	struct zf_job *j = zk_fence_util_job_find(z, kb->gen);
	const char *host = zk_fence_util_val(kb, 0), *user = zk_fence_util_val(kb, 1), *pass = zk_fence_util_val(kb, 2);
	const char *v[5];

	if (j == NULL || j->st != ZJ_IPMI)
		goto out;
	if (host == NULL || user == NULL || pass == NULL || host[0] == '\0') {
		log_errx("fence: node %s: no usable ipmihostname/ipmiusername/ipmipassword in "
			 "ZooKeeper: fence failed", j->node);
		j->fence_ok = 0;
		after_start(z, j);
		goto out;
	}
	v[0] = j->id;
	v[1] = j->node;
	v[2] = host;
	v[3] = user;
	v[4] = pass;
	j->fenced_ms = mono_ms();
	if (worker_send_strv(z->w, MSG_FENCE_REQ, ROLE_FENCE, v, 5) != 0) {
		log_errx("fence: node %s: cannot reach the fence worker: fence failed", j->node);
		j->fence_ok = 0;
		after_start(z, j);
		goto out;
	}
	log_info("fence: node %s: IPMI fence requested from the fence worker (BMC %s, request %s)",
		 j->node, host, j->id);
	j->timer = ev_timer(z->loop, ZF_REQ_TIMEOUT_MS, req_timeout, j);
out:
	for (int i = 0; i < kb->n; i++)
		if (kb->it[i]->val)
			explicit_bzero(kb->it[i]->val, strlen(kb->it[i]->val));
}

void zk_fence_job_result(struct zk_ctx *z, const struct ipc_strv *sv)
{
	struct zf_job *j;

	if (sv->n != 4) {
		log_warnx("fence: FENCE_RESULT with %u fields ignored", sv->n);
		return;
	}
	for (j = z->fence->jobs; j; j = j->next)
		if (strcmp(j->id, sv->v[0]) == 0)
			break;
	if (j == NULL || j->st != ZJ_IPMI || strcmp(j->node, sv->v[1]) != 0 ||
	    (strcmp(sv->v[2], "ok") != 0 && strcmp(sv->v[2], "failed") != 0)) {
		log_warnx("fence: unexpected FENCE_RESULT for request '%.24s' ignored", sv->v[0]);
		return;
	}
	if (j->timer) {
		ev_timer_cancel(z->loop, j->timer);
		j->timer = 0;
	}
	j->fence_ok = strcmp(sv->v[2], "ok") == 0;
	log_info("fence: node %s: IPMI fence %s (%.200s)", j->node,
		 j->fence_ok ? "succeeded" : "FAILED", sv->v[3]);
	after_start(z, j);
}

/* ---- after the fence ----------------------------------------------------------------- */

static void after_write_done(struct zk_ctx *z, struct zf_multi *m, int rc)
{
	if (rc != ZOK && rc != ZCLOSING)
		log_warnx("fence: %s: %s", (const char *)m->arg, zk_session_err(rc));
}

static int is_coordinator(const struct zk_ctx *z, const char *node, const char *mode)
{
	if (mode && strcmp(mode, "coordinator") == 0)
		return 1;
	for (int i = 0; i < z->cfg->coordinator_count && i < CFG_MAX_COORDINATORS; i++)
		if (strcmp(z->cfg->coordinators[i], node) == 0)
			return 1;
	return 0;
}

static void after_read(struct zk_ctx *z, struct zf_batch *b)
{
	struct zf_job *j = zk_fence_util_job_find(z, b->gen);
	const char *mode = zk_fence_util_val(b, 0), *prim = zk_fence_util_val(b, 1);
	const char *action;
	char path[ZF_PATH];
	struct zf_multi *m;

	if (j == NULL || j->st != ZJ_AFTER)
		return;
	if (is_coordinator(z, j->node, mode)) {
		/* only while the node is still the `dead` we wrote: a node that came back
		 * manages its own router state */
		m = zk_fence_util_multi_new(z, j->gen);
		if (m) {
			ds_path(j, path, sizeof(path));
			zk_fence_util_multi_check(m, path, j->ds_ver);
			snprintf(path, sizeof(path), "/nodes/%s/routerstate", j->node);
			zk_fence_util_multi_set(m, path, "secondary", -1);
			m->done = after_write_done;
			m->arg = (void *)"cannot write the fenced node's routerstate `secondary`";
			zk_fence_util_multi_commit(m);
		}
		/* the election has normally moved /primary_node already (it never waits
		 * for fencing); only a name still pointing at the dead node is reset */
		if (prim && strcmp(prim, j->node) == 0 && (m = zk_fence_util_multi_new(z, j->gen)) != NULL) {
			zk_fence_util_multi_set(m, "/primary_node", "none", b->it[1]->version);
			m->done = after_write_done;
			m->arg = (void *)"cannot write /primary_node `none`";
			log_warnx("fence: node %s was primary: /primary_node := none", j->node);
			zk_fence_util_multi_commit(m);
		}
	}
	action = j->fence_ok ? z->cfg->successful_fence : z->cfg->failed_fence;
	if (strcmp(action, "migrate") != 0) {
		char why[160];
		snprintf(why, sizeof(why), "%s_fence is %s: its VMs stay assigned to it",
			 j->fence_ok ? "successful" : "failed", action);
		zk_fence_util_job_end(z, j, why);
		return;
	}
	if (!j->fence_ok && z->cfg->suicide_intervals <= 0) {
		/* ref §4.5 meant "only if suicide is enabled": without self-fencing the
		 * unfenced node may still run them (ref §12.2 #21) */
		zk_fence_util_job_end(z, j, "fence failed and self-fencing is off (suicide_intervals 0): "
				 "its VMs stay assigned to it rather than run twice");
		return;
	}
	zk_fence_recover_start(z, j);
}

static void after_start(struct zk_ctx *z, struct zf_job *j)
{
	struct zf_batch *b = zk_fence_util_batch_new(z, j->gen, after_read);
	char path[ZF_PATH];

	j->st = ZJ_AFTER;
	if (b == NULL) {
		zk_fence_util_job_end(z, j, "out of memory");
		return;
	}
	snprintf(path, sizeof(path), "/nodes/%s/daemonmode", j->node);
	(void)zk_fence_util_batch_get(b, path);
	(void)zk_fence_util_batch_get(b, "/primary_node");
	zk_fence_util_batch_send(b);
}
