/*
 * zkreq.c: ZooKeeper requests through zk-election: reqids, the pending table,
 * reply matching, resends and backoff (see zkreq.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zkreq.h"

#define BACKOFF_SHIFT_MAX 6

static void zkreq_free(struct ipc_zkreq *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	free(r);
}

static void zkreq_unlink(struct ipc_zkreq_client *cl, struct ipc_zkreq *r)
{
	for (struct ipc_zkreq **pp = &cl->pending; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			cl->npending--;
			return;
		}
	}
}

static void zkreq_stop_timer(struct ipc_zkreq *r)
{
	if (r->timer && r->cl->loop)
		ev_timer_cancel(r->cl->loop, r->timer);
	r->timer = 0;
	r->backoff = 0;
}

static void zkreq_timer_cb(struct ev_loop *loop, void *arg);

/* Wait before the next transmission; 0, or -1 if no timer could be armed. */
static int zkreq_backoff(struct ipc_zkreq *r)
{
	const struct ipc_zkreq_policy *p = &r->cl->pol;
	unsigned shift = r->attempts < BACKOFF_SHIFT_MAX ? r->attempts : BACKOFF_SHIFT_MAX;
	uint64_t d = p->retry_min_ms << shift;

	if (p->retry_max_ms && d > p->retry_max_ms)
		d = p->retry_max_ms;
	r->attempts++;
	r->timer = ev_timer(r->cl->loop, d, zkreq_timer_cb, r);
	r->backoff = r->timer != 0;
	return r->timer ? 0 : -1;
}

static int zkreq_transmit(struct ipc_zkreq *r)
{
	struct ipc_zkreq_client *cl = r->cl;
	const char *v[IPC_ZKREQ_ARGS_MAX + 1];
	int rc;

	/* fresh_id: a late answer to an earlier copy no longer matches */
	if (cl->pol.fresh_id || r->id[0] == '\0')
		snprintf(r->id, sizeof(r->id), "%s%llu", cl->prefix,
			 (unsigned long long)++cl->next_id);
	v[0] = r->id;
	for (uint32_t i = 0; i < r->n; i++)
		v[i + 1] = r->v[i];
	rc = cl->send(cl->send_arg, r->type, v, r->n + 1);
	r->sent_ms = mono_ms();
	if (cl->loop == NULL)
		return rc;
	if (rc != 0 && cl->pol.retry_min_ms > 0 && zkreq_backoff(r) == 0)
		return 0;
	if (cl->pol.reply_timeout_ms > 0)
		r->timer = ev_timer(cl->loop, cl->pol.reply_timeout_ms, zkreq_timer_cb, r);
	return 0;
}

static void zkreq_timer_cb(struct ev_loop *loop, void *arg)
{
	struct ipc_zkreq *r = arg;

	/* The backoff elapsed, or no answer came (zk-election restarted and lost the
	 * request): send again. */
	r->timer = 0;
	r->backoff = 0;
	(void)zkreq_transmit(r);
}

void ipc_zkreq_init(struct ipc_zkreq_client *cl, struct ev_loop *loop, const char *prefix,
		    const struct ipc_zkreq_policy *pol, ipc_zkreq_send_fn send, void *send_arg)
{
	memset(cl, 0, sizeof(*cl));
	cl->loop = loop;
	cl->send = send;
	cl->send_arg = send_arg;
	if (pol)
		cl->pol = *pol;
	if (cl->pol.max_inflight == 0)
		cl->pol.max_inflight = IPC_ZKREQ_INFLIGHT_DEFAULT;
	strlcpy_pvc(cl->prefix, prefix ? prefix : "", sizeof(cl->prefix));
}

static struct ipc_zkreq *zkreq_new(uint32_t type, const char *const *args, uint32_t n)
{
	struct ipc_zkreq *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->v = calloc(n ? n : 1, sizeof(char *))) == NULL) {
		free(r);
		return NULL;
	}
	for (r->n = 0; r->n < n; r->n++) {
		if ((r->v[r->n] = strdup(args[r->n] ? args[r->n] : "")) == NULL) {
			zkreq_free(r);
			return NULL;
		}
	}
	r->type = type;
	return r;
}

struct ipc_zkreq *ipc_zkreq_issue(struct ipc_zkreq_client *cl, uint32_t type,
				  const char *const *args, uint32_t n, ipc_zkreq_cb cb, void *arg)
{
	struct ipc_zkreq *r;

	if (n > IPC_ZKREQ_ARGS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (cl->npending >= cl->pol.max_inflight) {
		errno = EAGAIN;
		return NULL;
	}
	if ((r = zkreq_new(type, args, n)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	r->cl = cl;
	r->cb = cb;
	r->arg = arg;
	r->next = cl->pending;
	cl->pending = r;
	cl->npending++;
	if (zkreq_transmit(r) != 0) {
		int e = errno;

		zkreq_unlink(cl, r);
		zkreq_free(r);
		errno = e;
		return NULL;
	}
	return r;
}

/* The reply's code, IPC_RC_GARBAGE if it does not parse. */
static int zkreq_reply_rc(const struct ipc_zkreq *r, const struct ipc_strv *sv)
{
	long long rc;

	if (sv->n < 2 || parse_ll(sv->v[1], -100000, 100000, &rc) != 0)
		return IPC_RC_GARBAGE;
	if (rc == 0 && r->type == MSG_ZK_GET && sv->n != 4)
		return IPC_RC_GARBAGE;
	return (int)rc;
}

int ipc_zkreq_reply(struct ipc_zkreq_client *cl, struct ipc_strv *sv)
{
	struct ipc_zkreq *r;
	int rc;

	if (sv->n < 1)
		return 0;
	for (r = cl->pending; r; r = r->next)
		if (strcmp(r->id, sv->v[0]) == 0)
			break;
	if (r == NULL || r->backoff)
		return 0; /* not ours, given up on, or a duplicate after a resend */
	rc = zkreq_reply_rc(r, sv);
	zkreq_stop_timer(r);
	if (cl->loop && cl->pol.retry_min_ms > 0 &&
	    (rc == IPC_RC_NOTCONN || rc == IPC_RC_BUSY ||
	     (rc == IPC_RC_GARBAGE && r->attempts < cl->pol.garbage_retries))) {
		/* ZooKeeper is away, zk-election has too many of our requests in
		 * flight (or the reply was mangled): the request still matters, ask
		 * again later */
		if (zkreq_backoff(r) == 0)
			return 1;
	}
	zkreq_unlink(cl, r);
	if (r->cb)
		r->cb(r->arg, r, rc, sv);
	zkreq_free(r);
	return 1;
}

int ipc_zkreq_reply_msg(struct ipc_zkreq_client *cl, const struct ipc_msg *msg)
{
	struct ipc_strv sv;
	int rc;

	if (msg->hdr.type != MSG_ZK_REPLY ||
	    ipc_strv_decode(msg->data, msg->hdr.len, &sv, NULL) != 0)
		return -1;
	rc = ipc_zkreq_reply(cl, &sv);
	ipc_strv_free(&sv);
	return rc;
}

void ipc_zkreq_cancel_all(struct ipc_zkreq_client *cl)
{
	struct ipc_zkreq *list = cl->pending;

	/* Detached first: a callback may issue new requests, which stay pending. */
	cl->pending = NULL;
	cl->npending = 0;
	while (list) {
		struct ipc_zkreq *r = list;

		list = r->next;
		zkreq_stop_timer(r);
		if (r->cb)
			r->cb(r->arg, r, IPC_RC_CANCELLED, NULL);
		zkreq_free(r);
	}
}

unsigned ipc_zkreq_pending(const struct ipc_zkreq_client *cl)
{
	return cl->npending;
}

int ipc_zkreq_wait(struct ipc_zkreq_client *cl, struct ipc_chan *c, const int *done,
		   int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	while (!*done) {
		struct ipc_msg msg;
		uint64_t now = mono_ms();

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (ipc_chan_recv_wait(c, &msg, (int)(deadline - now)) != 0)
			return -1;
		if (msg.hdr.type == MSG_ZK_REPLY)
			(void)ipc_zkreq_reply_msg(cl, &msg);
		ipc_msg_free(&msg);
	}
	return 0;
}
