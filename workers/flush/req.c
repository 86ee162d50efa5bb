/*
 * req.c: requests to zk-election for the flush job, through the generic client
 * (ipc/zkreq.c: unique ids, resend on silence, backoff while ZooKeeper is away).
 * What stays here is the job's gate: an answer counts only for the run and the VM
 * turn that asked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pvc.h"
#include "flush_int.h"

static int req_send(void *arg, uint32_t type, const char *const *v, uint32_t n)
{
	struct flush_job *j = arg;

	return j->io.send(j->io.arg, type, v, n);
}

void flush_req_init(struct flush_job *j)
{
	/* A fresh id per transmission: a late answer to an earlier copy is ignored.
	 * Every write is either idempotent or compare-and-set, so a resend is safe. */
	const struct ipc_zkreq_policy pol = {
		.reply_timeout_ms = j->p.req_timeout_ms,
		.fresh_id = 1,
		.retry_min_ms = j->p.retry_min_ms,
		.retry_max_ms = BACKOFF_MAX_MS,
		.garbage_retries = MAX_REREADS,
	};

	ipc_zkreq_init(&j->zk, j->loop, j->idprefix, &pol, req_send, j);
}

static void req_done(void *arg, struct ipc_zkreq *z, int rc, struct ipc_strv *rep)
{
	struct freq *r = arg;
	struct flush_job *j = r->job;

	/* cancelled with the run (flush_req_drop_all), or an answer for a run or a VM
	 * turn that is over: nobody waits for it any more */
	if (rc != IPC_RC_CANCELLED && r->gen == j->gen) {
		if (r->vmi < 0) {
			r->cb(j, r, rc, rep);
		} else if ((size_t)r->vmi < j->nvms && j->vms[r->vmi].vseq == r->vseq) {
			j->vms[r->vmi].outstanding--;
			r->cb(j, r, rc, rep);
		}
	}
	free(r);
}

/* Queue a request about VM `vmi` (-1: about the job). args: up to 15 strings. */
int flush_req_issue(struct flush_job *j, uint32_t type, int vmi, int tag, req_cb cb,
		    const char *const *args, uint32_t n)
{
	struct freq *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		log_errx("flush: out of memory");
		return -1;
	}
	r->vmi = vmi;
	r->tag = tag;
	r->cb = cb;
	r->gen = j->gen;
	r->vseq = vmi >= 0 ? j->vms[vmi].vseq : 0;
	r->job = j;
	if (ipc_zkreq_issue(&j->zk, type, args, n, req_done, r) == NULL) {
		log_errx("flush: cannot queue a request: %s", strerror(errno));
		free(r);
		return -1;
	}
	if (vmi >= 0)
		j->vms[vmi].outstanding++;
	return 0;
}

int flush_req_get(struct flush_job *j, int vmi, int tag, req_cb cb, const char *path)
{
	return flush_req_issue(j, MSG_ZK_GET, vmi, tag, cb, &path, 1);
}

void flush_req_reply(struct flush_job *j, struct ipc_strv *sv)
{
	if (ipc_zkreq_reply(&j->zk, sv) == 0)
		log_debug("flush: ignoring a reply to no pending request (an earlier instance's, or a duplicate)");
}

void flush_req_drop_all(struct flush_job *j)
{
	ipc_zkreq_cancel_all(&j->zk);
}
