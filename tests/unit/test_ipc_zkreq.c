/*
 * test_ipc_zkreq.c: the channel drain loop (ipc/drain.c) and the ZooKeeper request
 * client (ipc/zkreq.c): reqids, matching, garbage, bounds, cancel, resend and backoff;
 * zk-election's cap on requests in flight per role (workers/zk/relay.c) and the
 * client's backoff on its busy answer (issue #16).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"
#include "ipc.h"
#include "pvc.h"
#include "zk_internal.h"
#include "zkreq.h"

static void chan_pair(struct ipc_chan *a, enum pvc_role ra, struct ipc_chan *b,
		      enum pvc_role rb)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(set_nonblock(sv[0]), 0);
	assert_int_equal(set_nonblock(sv[1]), 0);
	ipc_chan_init(a, sv[0], ra);
	ipc_chan_init(b, sv[1], rb);
}

/* ---- drain -------------------------------------------------------------------- */

struct seen {
	int n, stop_at, kept_fd;
	uint32_t types[8];
};

static int on_frame(void *arg, struct ipc_msg *msg)
{
	struct seen *s = arg;

	s->types[s->n++] = msg->hdr.type;
	if (msg->fd >= 0) {
		s->kept_fd = msg->fd; /* taken: the drain must not close it */
		msg->fd = -1;
	}
	return s->n == s->stop_at;
}

static void test_drain(void **state)
{
	struct ipc_chan a, b;
	struct ipc_u64 ping = {.value = 7};
	struct seen s = {.stop_at = 2, .kept_fd = -1};
	const char *v[1] = {"x"};
	const char *err = NULL;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	chan_pair(&a, ROLE_SUPERVISOR, &b, ROLE_ZK);
	assert_int_equal(ipc_send(&a, MSG_PING, ROLE_ZK, &ping, sizeof(ping), -1), 0);
	assert_int_equal(ipc_send(&a, MSG_NET_HELLO, ROLE_ZK, NULL, 0, fd), 0);
	assert_int_equal(ipc_send_strv(&a, MSG_STATUS, ROLE_ZK, v, 1), 0);
	close(fd);
	assert_int_equal(ipc_chan_flush(&a), 1);
	/* the handler stops after the second frame; the third stays buffered */
	assert_int_equal(ipc_drain(&b, POLLIN, on_frame, &s, &err), IPC_DRAIN_STOPPED);
	assert_int_equal(s.n, 2);
	assert_true(s.kept_fd >= 0);
	assert_int_equal(fcntl(s.kept_fd, F_GETFD), FD_CLOEXEC);
	close(s.kept_fd);
	/* revents 0: only what is buffered */
	assert_int_equal(ipc_drain(&b, 0, on_frame, &s, &err), IPC_DRAIN_OK);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.types[2], MSG_STATUS);
	/* nothing to read is not an error */
	assert_int_equal(ipc_drain(&b, POLLIN, on_frame, &s, &err), IPC_DRAIN_OK);
	/* garbage: framing is lost */
	assert_int_equal(write(a.fd, "\xff\xff\xff\xff garbage garbage", 20), 20);
	assert_int_equal(ipc_drain(&b, POLLIN, on_frame, &s, &err), IPC_DRAIN_BAD);
	assert_non_null(err);
	ipc_chan_close(&b);
	ipc_chan_close(&a);

	/* EOF: buffered frames of a vanished peer are not handled */
	chan_pair(&a, ROLE_SUPERVISOR, &b, ROLE_ZK);
	s.n = 0;
	s.stop_at = 0;
	assert_int_equal(ipc_send(&a, MSG_PING, ROLE_ZK, &ping, sizeof(ping), -1), 0);
	assert_int_equal(ipc_chan_flush(&a), 1);
	ipc_chan_close(&a);
	assert_int_equal(ipc_drain(&b, POLLIN, on_frame, &s, &err), IPC_DRAIN_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(ipc_drain(&b, POLLIN | POLLHUP, on_frame, &s, &err), IPC_DRAIN_CLOSED);
	/* a write to a gone peer: closed too */
	assert_int_equal(ipc_send(&b, MSG_PONG, ROLE_SUPERVISOR, &ping, sizeof(ping), -1), 0);
	assert_int_equal(ipc_drain(&b, POLLOUT, on_frame, &s, &err), IPC_DRAIN_CLOSED);
	ipc_chan_close(&b);
}

/* ---- zkreq -------------------------------------------------------------------- */

struct wire {
	int nsent, fail;
	uint32_t type[16];
	char id[16][48];
	char arg0[16][64];
};

static int fake_send(void *arg, uint32_t type, const char *const *v, uint32_t n)
{
	struct wire *w = arg;

	if (w->fail)
		return -1;
	assert_true(w->nsent < 16);
	w->type[w->nsent] = type;
	snprintf(w->id[w->nsent], sizeof(w->id[0]), "%s", v[0]);
	snprintf(w->arg0[w->nsent], sizeof(w->arg0[0]), "%s", n > 1 ? v[1] : "");
	w->nsent++;
	return 0;
}

struct result {
	int calls, rc;
	char value[64];
};

static void on_reply(void *arg, struct ipc_zkreq *r, int rc, struct ipc_strv *rep)
{
	struct result *res = arg;

	res->calls++;
	res->rc = rc;
	snprintf(res->value, sizeof(res->value), "%s", rep && rep->n > 2 ? rep->v[2] : "");
}

/* Feed a reply [id, fields...] as zk-election would send it. */
static int reply(struct ipc_zkreq_client *cl, const char *const *v, uint32_t n)
{
	struct ipc_strv_buf b;
	struct ipc_strv sv;
	const uint8_t *p;
	size_t len;
	int rc;

	strvb_init(&b);
	for (uint32_t i = 0; i < n; i++)
		strvb_add(&b, v[i]);
	p = strvb_finish(&b, &len);
	assert_non_null(p);
	assert_int_equal(ipc_strv_decode(p, len, &sv, NULL), 0);
	rc = ipc_zkreq_reply(cl, &sv);
	ipc_strv_free(&sv);
	strvb_free(&b);
	return rc;
}

static void test_zkreq_match(void **state)
{
	struct ipc_zkreq_client cl;
	struct ipc_zkreq_policy pol = {.max_inflight = 2};
	struct wire w = {0};
	struct result r1 = {0}, r2 = {0}, r3 = {0};
	const char *path = "/nodes";
	struct ipc_zkreq *z;

	ipc_zkreq_init(&cl, NULL, "t", &pol, fake_send, &w);
	z = ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r1);
	assert_non_null(z);
	assert_int_equal(w.nsent, 1);
	assert_string_equal(w.id[0], "t1");
	assert_string_equal(w.arg0[0], "/nodes");
	assert_int_equal(w.type[0], MSG_ZK_GET);
	/* not ours, unknown, or too short: ignored */
	assert_int_equal(reply(&cl, (const char *[]){"vm1", "0", "a", "1"}, 4), 0);
	assert_int_equal(reply(&cl, (const char *[]){"t9", "0", "a", "1"}, 4), 0);
	assert_int_equal(reply(&cl, (const char *[]){"t1"}, 0), 0);
	assert_int_equal(r1.calls, 0);
	assert_int_equal(reply(&cl, (const char *[]){"t1", "0", "val", "3"}, 4), 1);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.rc, 0);
	assert_string_equal(r1.value, "val");
	/* a duplicate after the answer */
	assert_int_equal(reply(&cl, (const char *[]){"t1", "0", "val", "3"}, 4), 0);
	assert_int_equal(r1.calls, 1);
	/* a GET answered 0 without [value, version], and a rc that is no number */
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r2));
	assert_int_equal(reply(&cl, (const char *[]){"t2", "0", "val"}, 3), 1);
	assert_int_equal(r2.rc, IPC_RC_GARBAGE);
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_CHILDREN, &path, 1, on_reply, &r2));
	assert_int_equal(reply(&cl, (const char *[]){"t3", "zero"}, 2), 1);
	assert_int_equal(r2.rc, IPC_RC_GARBAGE);
	assert_int_equal(r2.calls, 2);
	/* NOTCONN without a loop: delivered */
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_CHILDREN, &path, 1, on_reply, &r2));
	assert_int_equal(reply(&cl, (const char *[]){"t4", "-1001"}, 2), 1);
	assert_int_equal(r2.rc, IPC_RC_NOTCONN);
	/* bounded: the third pending request is refused */
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r3));
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r3));
	assert_null(ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r3));
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(ipc_zkreq_pending(&cl), 2);
	/* too many arguments */
	assert_null(ipc_zkreq_issue(&cl, MSG_ZK_WRITE, &path, IPC_ZKREQ_ARGS_MAX + 1, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	/* cancel: every pending request ends in one callback */
	ipc_zkreq_cancel_all(&cl);
	assert_int_equal(r3.calls, 2);
	assert_int_equal(r3.rc, IPC_RC_CANCELLED);
	assert_int_equal(ipc_zkreq_pending(&cl), 0);
	/* without a loop a failed send fails the issue */
	w.fail = 1;
	assert_null(ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r3));
	assert_int_equal(ipc_zkreq_pending(&cl), 0);
}

static void stop_loop(struct ev_loop *loop, void *arg)
{
	ev_break(loop);
}

static void run_for(struct ev_loop *loop, uint64_t ms)
{
	assert_true(ev_timer(loop, ms, stop_loop, NULL) != 0);
	assert_int_equal(ev_run(loop), 0);
}

static void test_zkreq_retry(void **state)
{
	struct ev_loop *loop = ev_new();
	struct ipc_zkreq_client cl;
	struct ipc_zkreq_policy pol = {.reply_timeout_ms = 200, .fresh_id = 1,
				       .retry_min_ms = 5, .retry_max_ms = 10,
				       .garbage_retries = 1};
	struct wire w = {0};
	struct result r = {0};
	const char *path = "/x";

	assert_non_null(loop);
	ipc_zkreq_init(&cl, loop, "f1.", &pol, fake_send, &w);
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r));
	assert_string_equal(w.id[0], "f1.1");
	/* ZooKeeper away: asked again after the backoff, under a fresh id */
	assert_int_equal(reply(&cl, (const char *[]){"f1.1", "-1001"}, 2), 1);
	assert_int_equal(r.calls, 0);
	/* a duplicate while waiting is ignored */
	assert_int_equal(reply(&cl, (const char *[]){"f1.1", "-1001"}, 2), 0);
	run_for(loop, 30);
	assert_int_equal(w.nsent, 2);
	assert_string_equal(w.id[1], "f1.2");
	/* the late answer to the first copy no longer matches */
	assert_int_equal(reply(&cl, (const char *[]){"f1.1", "0", "old", "1"}, 4), 0);
	/* garbage: asked again once (attempts 1 < 1 is false: delivered) */
	assert_int_equal(reply(&cl, (const char *[]){"f1.2", "0"}, 2), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.rc, IPC_RC_GARBAGE);

	/* silence: resent after reply_timeout_ms */
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_CHILDREN, &path, 1, on_reply, &r));
	assert_int_equal(w.nsent, 3);
	run_for(loop, 300);
	assert_true(w.nsent >= 4);
	assert_int_equal(reply(&cl, (const char *[]){w.id[w.nsent - 1], "0", "a"}, 3), 1);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.rc, 0);

	/* a failed send is retried after the backoff */
	w.fail = 1;
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_CHILDREN, &path, 1, on_reply, &r));
	w.fail = 0;
	run_for(loop, 30);
	assert_true(w.nsent >= 5);
	ipc_zkreq_cancel_all(&cl);
	assert_int_equal(r.calls, 3);
	assert_int_equal(r.rc, IPC_RC_CANCELLED);
	/* nothing fires after the cancel */
	run_for(loop, 80);
	assert_int_equal(r.calls, 3);
	ev_free(loop);
}

/* zk-election over its cap answers busy: no callback, asked again after a growing
 * backoff under a fresh id, delivered once admitted. */
static void test_zkreq_busy(void **state)
{
	struct ev_loop *loop = ev_new();
	struct ipc_zkreq_client cl;
	struct ipc_zkreq_policy pol = {.fresh_id = 1, .retry_min_ms = 5, .retry_max_ms = 40};
	struct wire w = {0};
	struct result r = {0};
	const char *path = "/x";

	assert_non_null(loop);
	ipc_zkreq_init(&cl, loop, "v.", &pol, fake_send, &w);
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r));
	assert_int_equal(reply(&cl, (const char *[]){"v.1", "-1002"}, 2), 1);
	assert_int_equal(r.calls, 0);
	assert_int_equal(w.nsent, 1); /* not at once: after the backoff */
	run_for(loop, 30);
	assert_int_equal(w.nsent, 2);
	assert_string_equal(w.id[1], "v.2");
	assert_int_equal(reply(&cl, (const char *[]){"v.2", "-1002"}, 2), 1);
	run_for(loop, 60);
	assert_int_equal(w.nsent, 3);
	assert_int_equal(cl.pending->attempts, 2); /* the backoff grew */
	assert_int_equal(reply(&cl, (const char *[]){"v.3", "0", "val", "4"}, 4), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.value, "val");
	/* without retries configured the caller sees the busy code */
	pol.retry_min_ms = 0;
	ipc_zkreq_init(&cl, loop, "w.", &pol, fake_send, &w);
	assert_non_null(ipc_zkreq_issue(&cl, MSG_ZK_GET, &path, 1, on_reply, &r));
	assert_int_equal(reply(&cl, (const char *[]){"w.1", "-1002"}, 2), 1);
	assert_int_equal(r.rc, IPC_RC_BUSY);
	ev_free(loop);
}

/* The cap counts per role: one role at its cap does not hold back another. */
static void test_relay_cap(void **state)
{
	struct zk_ctx *z = calloc(1, sizeof(*z));

	assert_non_null(z);
	for (int i = 0; i < ZK_RELAY_INFLIGHT_MAX; i++)
		assert_int_equal(zk_relay_admit(z, ROLE_VM), 1);
	assert_int_equal(zk_relay_admit(z, ROLE_VM), 0);
	assert_int_equal(z->req_busy[ROLE_VM], 0); /* the first refusal was logged */
	assert_int_equal(z->req_busy_log_ms != 0, 1);
	assert_int_equal(zk_relay_admit(z, ROLE_VM), 0);
	assert_int_equal(zk_relay_admit(z, ROLE_VM), 0);
	assert_int_equal(z->req_busy[ROLE_VM], 2); /* rate-limited: counted, not logged */
	assert_int_equal(zk_relay_admit(z, ROLE_FLUSH), 1);
	assert_int_equal(zk_relay_admit(z, ROLE_CTL), 1);
	zk_relay_release(z, ROLE_VM);
	assert_int_equal(zk_relay_admit(z, ROLE_VM), 1);
	assert_int_equal(zk_relay_admit(z, ROLE_VM), 0);
	/* every release frees a slot, never below zero */
	for (int i = 0; i < ZK_RELAY_INFLIGHT_MAX + 5; i++)
		zk_relay_release(z, ROLE_VM);
	assert_int_equal(z->req_inflight[ROLE_VM], 0);
	assert_int_equal(zk_relay_admit(z, (enum pvc_role)ROLE_COUNT), 0);
	free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_zkreq_match),
		cmocka_unit_test(test_zkreq_retry),
		cmocka_unit_test(test_zkreq_busy),
		cmocka_unit_test(test_relay_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
