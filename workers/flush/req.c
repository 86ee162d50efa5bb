/*
 * flush_req.c: requests to zk-election for the flush job: unique ids, resend on
 * silence, backoff while ZooKeeper is away, dispatch of the answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pvc.h"
#include "flush_int.h"

/* ---- requests ------------------------------------------------------------------- */

static void req_free(struct freq *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	free(r);
}

static void req_unlink(struct flush_job *j, struct freq *r)
{
	for (struct freq **pp = &j->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return;
		}
}

static void req_timeout(struct ev_loop *loop, void *arg);

static void req_transmit(struct flush_job *j, struct freq *r)
{
	const char *v[16];
	char reqid[32];
	uint64_t wait = j->p.req_timeout_ms;

	/* A fresh id per transmission: a late answer to an earlier copy is ignored. */
	r->id = ++j->next_id;
	snprintf(reqid, sizeof(reqid), "%s%llu", j->idprefix, (unsigned long long)r->id);
	v[0] = reqid;
	for (uint32_t i = 0; i < r->n; i++)
		v[i + 1] = r->v[i];
	if (j->io.send(j->io.arg, r->type, v, r->n + 1) != 0) {
		wait = j->p.retry_min_ms << (r->attempts < 6 ? r->attempts : 6);
		r->attempts++;
	}
	r->timer = ev_timer(j->loop, wait, req_timeout, r);
}

static void req_timeout(struct ev_loop *loop, void *arg)
{
	struct freq *r = arg;
	struct flush_job *j = r->job;

	r->timer = 0;
	/* No answer (zk-election restarted and lost it, or backoff elapsed): send again.
	 * Every write is either idempotent or compare-and-set, so a duplicate is safe. */
	req_transmit(j, r);
}


/* Queue a request about VM `vmi` (-1: about the job). args: up to 15 strings. */
int fji_req_issue(struct flush_job *j, uint32_t type, int vmi, int tag, req_cb cb,
		     const char *const *args, uint32_t n)
{
	struct freq *r = calloc(1, sizeof(*r));

	if (r == NULL || n > 15 || (r->v = calloc(n ? n : 1, sizeof(char *))) == NULL) {
		free(r);
		log_errx("flush: out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		if ((r->v[i] = strdup(args[i])) == NULL) {
			r->n = i;
			req_free(r);
			log_errx("flush: out of memory");
			return -1;
		}
	}
	r->n = n;
	r->type = type;
	r->vmi = vmi;
	r->tag = tag;
	r->cb = cb;
	r->gen = j->gen;
	r->vseq = vmi >= 0 ? j->vms[vmi].vseq : 0;
	r->job = j;
	r->next = j->reqs;
	j->reqs = r;
	if (vmi >= 0)
		j->vms[vmi].outstanding++;
	req_transmit(j, r);
	return 0;
}

int fji_req_get(struct flush_job *j, int vmi, int tag, req_cb cb, const char *path)
{
	return fji_req_issue(j, MSG_ZK_GET, vmi, tag, cb, &path, 1);
}

void fj_reply(struct flush_job *j, const struct ipc_strv *sv)
{
	struct freq *r;
	long long id, rc;

	size_t pl = strlen(j->idprefix);

	if (sv->n < 2 || strncmp(sv->v[0], j->idprefix, pl) != 0 ||
	    parse_ll(sv->v[0] + pl, 1, INT64_MAX, &id) != 0) {
		log_debug("flush: ignoring a reply to a request of an earlier instance");
		return;
	}
	for (r = j->reqs; r; r = r->next)
		if (r->id == (uint64_t)id)
			break;
	if (r == NULL)
		return; /* an answer to a copy we already gave up on */
	if (parse_ll(sv->v[1], -100000, 100000, &rc) != 0) {
		log_warnx("flush: malformed rc \"%.32s\" in a reply", sv->v[1]);
		rc = RC_GARBAGE;
	} else if (rc == 0 && r->type == MSG_ZK_GET && sv->n != 4) {
		log_warnx("flush: malformed GET reply (%u fields)", sv->n);
		rc = RC_GARBAGE;
	}
	ev_timer_cancel(j->loop, r->timer);
	r->timer = 0;
	if (rc == RC_NOT_CONNECTED || (rc == RC_GARBAGE && r->attempts < MAX_REREADS)) {
		/* ZooKeeper is away: retry with a growing delay, the job just waits. */
		uint64_t d = j->p.retry_min_ms << (r->attempts < 6 ? r->attempts : 6);
		r->attempts++;
		r->timer = ev_timer(j->loop, d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS, req_timeout, r);
		return;
	}
	req_unlink(j, r);
	if (r->gen == j->gen) {
		if (r->vmi < 0) {
			r->cb(j, r, (int)rc, sv);
		} else if ((size_t)r->vmi < j->nvms && j->vms[r->vmi].vseq == r->vseq) {
			j->vms[r->vmi].outstanding--;
			r->cb(j, r, (int)rc, sv);
		}
	}
	req_free(r);
}

void fji_reqs_drop_all(struct flush_job *j)
{
	while (j->reqs) {
		struct freq *r = j->reqs;
		j->reqs = r->next;
		if (r->timer)
			ev_timer_cancel(j->loop, r->timer);
		req_free(r);
	}
}
