/*
 * zkreq.h: ZooKeeper requests through zk-election (ipc/zkreq.c), one client for
 * vm-manager, flush and pvcctl.
 *
 * A request is MSG_ZK_GET [reqid, path], MSG_ZK_CHILDREN [reqid, path] or
 * MSG_ZK_WRITE [reqid, (op, path, value)...] to ROLE_ZK; zk-election answers
 * MSG_ZK_REPLY [reqid, rc, ...] (rc: include/ipc.h, IPC_RC_*). The client allocates
 * the reqids (its prefix, then a counter), keeps the pending requests (bounded),
 * matches the replies, resends on silence, backs off while ZooKeeper is away, and
 * ends every request with exactly one call of its callback: the reply, or
 * IPC_RC_CANCELLED from ipc_zkreq_cancel_all().
 *
 * Every write zk-election serves is idempotent or compare-and-set, so a resent
 * request is safe.
 */
#ifndef IPC_ZKREQ_H
#define IPC_ZKREQ_H

#include <stdint.h>

#include "evloop.h"
#include "ipc.h"

#define IPC_ZKREQ_ARGS_MAX 15          /* strings after the reqid */
#define IPC_ZKREQ_INFLIGHT_DEFAULT 1024

struct ipc_zkreq;

/* rc: the reply's code (0, ZooKeeper's, IPC_RC_POLICY...), IPC_RC_GARBAGE for a reply
 * that does not parse (once the re-asks are used up), IPC_RC_CANCELLED (rep NULL).
 * rep is [reqid, rc, ...]; it is freed after the call: to keep the strings, copy the
 * struct and zero *rep. r is freed after the call. The callback may issue requests
 * (but not from an IPC_RC_CANCELLED call) and may call ipc_zkreq_cancel_all(). */
typedef void (*ipc_zkreq_cb)(void *arg, struct ipc_zkreq *r, int rc, struct ipc_strv *rep);
/* Hand one frame to zk-election (worker_send_strv(w, type, ROLE_ZK, v, n) in a
 * worker). v[0] is the reqid. 0, or -1 (then retried after a backoff). */
typedef int (*ipc_zkreq_send_fn)(void *arg, uint32_t type, const char *const *v, uint32_t n);

struct ipc_zkreq_policy {
	/* Resend a request unanswered for this long (zk-election restarted and lost
	 * it); 0: never. */
	uint64_t reply_timeout_ms;
	/* 1: a fresh reqid per transmission, a late reply to an earlier copy is
	 * ignored. 0: resend under the same reqid, the first reply to come counts. */
	int fresh_id;
	/* Backoff on IPC_RC_NOTCONN, IPC_RC_BUSY (zk-election's cap on requests in
	 * flight per role) and after a failed send: retry_min_ms << min(attempts, 6),
	 * at most retry_max_ms (0: no cap). retry_min_ms = 0: no retry, the callback
	 * gets IPC_RC_NOTCONN or IPC_RC_BUSY. */
	uint64_t retry_min_ms, retry_max_ms;
	/* Ask again (with the backoff) while attempts < garbage_retries when a reply does
	 * not parse (rc not a number, a GET answered 0 without [value, version]); then
	 * the callback gets IPC_RC_GARBAGE. */
	unsigned garbage_retries;
	/* ipc_zkreq_issue() fails with EAGAIN beyond this many pending requests
	 * (0: IPC_ZKREQ_INFLIGHT_DEFAULT). */
	unsigned max_inflight;
};

struct ipc_zkreq {
	/* The caller's: set them after ipc_zkreq_issue() returns (no callback runs
	 * from inside it); the client does not look at them. */
	int tag;
	uint64_t cookie;
	/* Read-only for the caller. */
	uint32_t type;
	uint32_t n;         /* arguments after the reqid */
	char **v;           /* the arguments */
	unsigned attempts;  /* backoffs so far */
	char id[48];        /* the reqid of the last transmission */
	/* Private. */
	struct ipc_zkreq_client *cl;
	struct ipc_zkreq *next;
	ipc_zkreq_cb cb;
	void *arg;
	uint64_t timer, sent_ms;
	int backoff;        /* waiting to retransmit: replies are duplicates */
};

struct ipc_zkreq_client {
	struct ev_loop *loop; /* NULL: no timers (pvcctl waits with ipc_zkreq_wait()) */
	ipc_zkreq_send_fn send;
	void *send_arg;
	struct ipc_zkreq_policy pol;
	char prefix[24];
	uint64_t next_id;
	struct ipc_zkreq *pending;
	unsigned npending;
};

/* The client must not move in memory while requests are pending. prefix: at most
 * 23 characters, distinct per process instance when replies meant for a
 * predecessor must be told apart (flush: "f<random>."). */
void ipc_zkreq_init(struct ipc_zkreq_client *cl, struct ev_loop *loop, const char *prefix,
		    const struct ipc_zkreq_policy *pol, ipc_zkreq_send_fn send, void *send_arg);
/* Copy args, allocate a reqid, send. NULL with errno: EINVAL (n too large), EAGAIN
 * (max_inflight reached), ENOMEM; without a loop also the send's failure. cb may be
 * NULL (fire and forget). */
struct ipc_zkreq *ipc_zkreq_issue(struct ipc_zkreq_client *cl, uint32_t type,
				  const char *const *args, uint32_t n, ipc_zkreq_cb cb, void *arg);
/* A decoded MSG_ZK_REPLY (untrusted). 1: it answered a pending request (the callback
 * ran, or a retry was scheduled); 0: not ours, stale or a duplicate (ignored). */
int ipc_zkreq_reply(struct ipc_zkreq_client *cl, struct ipc_strv *sv);
/* The same from a MSG_ZK_REPLY frame; -1 if its payload does not decode. */
int ipc_zkreq_reply_msg(struct ipc_zkreq_client *cl, const struct ipc_msg *msg);
/* End every pending request: callbacks with IPC_RC_CANCELLED, timers cancelled. */
void ipc_zkreq_cancel_all(struct ipc_zkreq_client *cl);
unsigned ipc_zkreq_pending(const struct ipc_zkreq_client *cl);
/* Blocking use (no loop): read frames from c, feed MSG_ZK_REPLY to the client and
 * drop the others, until *done is non-zero. 0, or -1 with errno (ETIMEDOUT, EPIPE:
 * connection closed, EPROTO). */
int ipc_zkreq_wait(struct ipc_zkreq_client *cl, struct ipc_chan *c, const int *done,
		   int timeout_ms);

#endif
