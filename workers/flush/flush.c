/*
 * flush.c: the `flush` worker. It owns no socket and no file: it learns the node's
 * domainstate from zk-election (MSG_FLUSH_DOMAINSTATE), runs the flush/unflush job
 * (job.c) with ZooKeeper requests routed through the supervisor, and reports
 * its progress as status lines. Confinement is the tightest of all roles: no
 * capability, no file access, nothing beyond the common system calls.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sandbox.h"
#include "worker.h"
#include "flush_job.h"

/* The supervisor waits 10 s for phase 1; answer before it gives up on us. */
#define FLUSH_STOP_BOUND_MS 8000
#define FLUSH_POLL_MS 200
#define FLUSH_REQ_TIMEOUT_MS 15000
/* Safety net besides zk-election's push: a lost or never-sent domainstate message
 * (watch not armed while the key did not exist yet, a relay restart) must not leave
 * a flush request unanswered. Versions order the two sources. It polls only until a
 * first value is known and while a job runs: an idle worker has no timer at all
 * (zk-election pushes every change of the key and answers HELLO). */
#define FLUSH_DS_POLL_MS 2000

struct flush_ctx {
	struct worker w;
	struct flush_job *job;
	uint32_t stop_phase;
	unsigned long ds_polls;
	uint64_t ds_timer;
	int ds_known;
	int stopping;
};

static void flush_ds_arm(struct flush_ctx *fc);

static int flush_send(void *arg, uint32_t type, const char *const *v, uint32_t n)
{
	struct flush_ctx *fc = arg;

	return worker_send_strv(&fc->w, type, ROLE_ZK, v, n);
}

static void flush_report(void *arg)
{
	struct flush_ctx *fc = arg;
	const char *v[8];
	uint32_t n;

	if (!fc->w.ready || fc->job == NULL)
		return;
	n = flush_job_status(fc->job, v, 8);
	(void)worker_status(&fc->w, v, n);
}

/* Everything the flush worker receives comes from zk-election. */
static void flush_dispatch_zk(struct flush_ctx *fc, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
		log_warnx("flush: undecodable %s: %s", ipc_type_name(msg->hdr.type),
			  err ? err : "?");
		return;
	}
	if (msg->hdr.type == MSG_FLUSH_DOMAINSTATE) {
		fc->ds_known = 1;
		flush_job_domainstate(fc->job, &sv);
	} else if (sv.n >= 1 && strncmp(sv.v[0], "ds-poll.", 8) == 0) {
		/* our own poll: [reqid, rc, value, version] -> [value, version] */
		if (sv.n == 4 && strcmp(sv.v[1], "0") == 0) {
			struct ipc_strv ds = {.n = 2, .v = sv.v + 2, .lens = sv.lens + 2};
			fc->ds_known = 1;
			flush_job_domainstate(fc->job, &ds);
		}
	} else {
		flush_job_reply(fc->job, &sv);
	}
	ipc_strv_free(&sv);
	/* a domainstate may have started a job */
	flush_ds_arm(fc);
}

static void flush_dispatch(struct worker *w, struct ipc_msg *msg)
{
	struct flush_ctx *fc = w->ctx;

	switch (msg->hdr.type) {
	case MSG_FLUSH_DOMAINSTATE:
	case MSG_ZK_REPLY:
		if (msg->hdr.sender != ROLE_ZK) {
			log_warnx("flush: %s from %s ignored", ipc_type_name(msg->hdr.type),
				  role_name(msg->hdr.sender));
			return;
		}
		flush_dispatch_zk(fc, msg);
		break;
	default:
		log_warnx("flush: unexpected %s from %s", ipc_type_name(msg->hdr.type),
			  role_name(msg->hdr.sender));
		break;
	}
}

static int flush_ds_wanted(struct flush_ctx *fc)
{
	return !fc->stopping &&
	       (!fc->ds_known || strcmp(flush_job_kind(fc->job), "idle") != 0);
}

static void flush_ds_poll(struct ev_loop *loop, void *arg)
{
	struct flush_ctx *fc = arg;
	char reqid[40], path[CFG_NAME_MAX + 32];
	const char *v[2] = {reqid, path};

	fc->ds_timer = 0;
	if (!flush_ds_wanted(fc))
		return;
	snprintf(reqid, sizeof(reqid), "ds-poll.%lu", ++fc->ds_polls);
	snprintf(path, sizeof(path), "/nodes/%s/domainstate", fc->w.cfg.node_name);
	(void)worker_send_strv(&fc->w, MSG_ZK_GET, ROLE_ZK, v, 2);
	flush_ds_arm(fc);
}

static void flush_ds_arm(struct flush_ctx *fc)
{
	if (fc->ds_timer != 0 || !flush_ds_wanted(fc))
		return;
	fc->ds_timer = ev_timer(fc->w.loop, FLUSH_DS_POLL_MS, flush_ds_poll, fc);
	if (fc->ds_timer == 0)
		log_warnx("flush: cannot arm the domainstate poll");
}

static void flush_stopped(void *arg)
{
	struct flush_ctx *fc = arg;

	worker_shutdown_done(&fc->w, fc->stop_phase);
}

/* Stop between moves: a move already written is given a bounded time to land;
 * anything left is resumed from ZooKeeper state by the next start. */
static void flush_shutdown(struct worker *w, uint32_t phase)
{
	struct flush_ctx *fc = w->ctx;

	fc->stop_phase = phase;
	fc->stopping = 1;
	log_info("flush: stopping (job %s)", flush_job_kind(fc->job));
	flush_job_stop(fc->job, FLUSH_STOP_BOUND_MS, flush_stopped, fc);
}

static int flush_seccomp_rules(void *scmp_ctx)
{
	/* The common set (IPC I/O, poll, time, memory) is all this role needs: no
	 * socket(), no open(), no fork. */
	(void)scmp_ctx;
	return 0;
}

int flush_main(void)
{
	static struct flush_ctx fc; /* one per process; lives as long as the loop */
	struct flush_params p;
	struct flush_io io = {.arg = &fc, .send = flush_send, .status = flush_report};
	struct sandbox_spec spec = {0};
	int rc;

	worker_start(&fc.w, ROLE_FLUSH, flush_dispatch, flush_shutdown, &fc);
	memset(&p, 0, sizeof(p));
	p.node = fc.w.cfg.node_name;
	p.selector = fc.w.cfg.target_selector;
	p.in_flight = fc.w.cfg.flush_in_flight > 0 ? fc.w.cfg.flush_in_flight : 1;
	p.vm_timeout_ms = (uint64_t)(fc.w.cfg.flush_vm_timeout > 0 ? fc.w.cfg.flush_vm_timeout : 600) * 1000;
	p.poll_ms = FLUSH_POLL_MS;
	p.req_timeout_ms = FLUSH_REQ_TIMEOUT_MS;
	fc.job = flush_job_new(fc.w.loop, &p, &io);
	if (fc.job == NULL) {
		log_errx("flush: unusable configuration (node %s, selector %s)", p.node, p.selector);
		return PVC_WORKER_EXIT_PERMANENT;
	}
	spec.user = fc.w.cfg.worker_user[0] ? fc.w.cfg.worker_user : NULL;
	spec.keep_caps = 0;
	spec.seccomp_rules = flush_seccomp_rules;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	worker_ready(&fc.w);
	flush_report(&fc);
	/* zk-election answers with the current domainstate, which (re)starts any job */
	if (worker_send(&fc.w, MSG_FLUSH_HELLO, ROLE_ZK, NULL, 0) != 0)
		log_warnx("flush: cannot send HELLO; waiting for zk-election to announce itself");
	flush_ds_arm(&fc);
	rc = worker_run(&fc.w);
	flush_job_free(fc.job);
	return rc;
}
