/*
 * test_ipc.c: the IPC codec (ipc/frame.c, ipc/strv.c) and the validators of lib/util.c.
 *
 * The decoder is the first code that sees bytes from another process, so every
 * rejection rule has a case here, and the channel tests go through a real
 * socketpair, fd passing included.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "ipc.h"
#include "pvc.h"

/* ---- helpers ------------------------------------------------------------------ */

static size_t put_frame(uint8_t *out, uint32_t type, uint32_t len, uint32_t seq, uint8_t sender,
			uint8_t dest, uint16_t flags, const void *data, size_t datalen)
{
	memcpy(out, &type, 4);
	memcpy(out + 4, &len, 4);
	memcpy(out + 8, &seq, 4);
	out[12] = sender;
	out[13] = dest;
	memcpy(out + 14, &flags, 2);
	if (datalen)
		memcpy(out + IPC_HDR_SIZE, data, datalen);
	return IPC_HDR_SIZE + datalen;
}

/* Decode buf and expect IPC_DECODE_ERROR with a reason. */
static void expect_reject(const uint8_t *buf, size_t len)
{
	struct ipc_msg m;
	size_t used = 0;
	const char *err = NULL;

	assert_int_equal(ipc_decode(buf, len, &m, &used, &err), IPC_DECODE_ERROR);
	assert_non_null(err);
	assert_null(m.data);
	assert_int_equal(m.fd, -1);
}

/* A STRV payload by hand: count, then (n, bytes) per string. */
static size_t put_strv(uint8_t *out, uint32_t count, const char *const *v, uint32_t nv)
{
	size_t off = 4;

	memcpy(out, &count, 4);
	for (uint32_t i = 0; i < nv; i++) {
		uint32_t n = (uint32_t)strlen(v[i]);
		memcpy(out + off, &n, 4);
		memcpy(out + off + 4, v[i], n);
		off += 4 + n;
	}
	return off;
}

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

/* ---- header ------------------------------------------------------------------- */

static void test_header_roundtrip(void **state)
{
	uint8_t buf[64];
	struct ipc_u64 u = {0x1122334455667788ULL};
	struct ipc_msg m;
	size_t used = 0, n;

	n = put_frame(buf, MSG_PING, sizeof(u), 0xdeadbeef, ROLE_SUPERVISOR, ROLE_NET, 0, &u,
		      sizeof(u));
	assert_int_equal(ipc_decode(buf, n, &m, &used, NULL), IPC_DECODE_OK);
	assert_int_equal(used, n);
	assert_int_equal(m.hdr.type, MSG_PING);
	assert_int_equal(m.hdr.len, sizeof(u));
	assert_int_equal(m.hdr.seq, 0xdeadbeef);
	assert_int_equal(m.hdr.sender, ROLE_SUPERVISOR);
	assert_int_equal(m.hdr.dest, ROLE_NET);
	assert_int_equal(m.hdr.flags, 0);
	assert_int_equal(m.fd, -1);
	assert_memory_equal(m.data, &u, sizeof(u));
	assert_int_equal(m.data[sizeof(u)], 0); /* NUL after the payload */
	ipc_msg_free(&m);
	assert_null(m.data);

	/* the fd flag is a known flag; the header carries it through */
	n = put_frame(buf, MSG_READY, 0, 1, ROLE_FLUSH, ROLE_SUPERVISOR, IPC_F_FD, NULL, 0);
	assert_int_equal(ipc_decode(buf, n, &m, &used, NULL), IPC_DECODE_OK);
	assert_int_equal(m.hdr.flags, IPC_F_FD);
	ipc_msg_free(&m);

	assert_string_equal(ipc_type_name(MSG_VM_DOMAIN), "MSG_VM_DOMAIN");
	assert_string_equal(ipc_type_name(0), "MSG_INVALID");
	assert_string_equal(ipc_type_name(MSG_COUNT), "MSG_INVALID");
}

static void test_reject_header(void **state)
{
	uint8_t buf[64];
	uint8_t big[IPC_HDR_SIZE];
	struct ipc_u64 u = {1};

	put_frame(buf, 0, 0, 1, ROLE_VM, ROLE_SUPERVISOR, 0, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE); /* type 0 */
	put_frame(buf, MSG_COUNT, 0, 1, ROLE_VM, ROLE_SUPERVISOR, 0, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE); /* first unknown type */
	put_frame(buf, 0xffffffffu, 0, 1, ROLE_VM, ROLE_SUPERVISOR, 0, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE);
	/* too long: rejected from the header alone, before any payload arrives */
	put_frame(big, MSG_LOG, IPC_MAX_PAYLOAD + 1, 1, ROLE_VM, ROLE_SUPERVISOR, 0, NULL, 0);
	expect_reject(big, IPC_HDR_SIZE);
	put_frame(big, MSG_LOG, 0xffffffffu, 1, ROLE_VM, ROLE_SUPERVISOR, 0, NULL, 0);
	expect_reject(big, IPC_HDR_SIZE);
	/* unknown flags */
	put_frame(buf, MSG_READY, 0, 1, ROLE_VM, ROLE_SUPERVISOR, 0x0002, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE);
	put_frame(buf, MSG_READY, 0, 1, ROLE_VM, ROLE_SUPERVISOR, 0x8001, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE);
	/* sender / dest out of range */
	put_frame(buf, MSG_READY, 0, 1, ROLE_COUNT, ROLE_SUPERVISOR, 0, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE);
	put_frame(buf, MSG_READY, 0, 1, ROLE_VM, ROLE_COUNT, 0, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE);
	put_frame(buf, MSG_READY, 0, 1, 0xff, 0xff, 0, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE);
	/* sender == dest */
	put_frame(buf, MSG_READY, 0, 1, ROLE_VM, ROLE_VM, 0, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE);
	/* EMPTY with a payload, also before the payload arrived */
	put_frame(buf, MSG_READY, 1, 1, ROLE_VM, ROLE_SUPERVISOR, 0, "x", 1);
	expect_reject(buf, IPC_HDR_SIZE + 1);
	expect_reject(buf, IPC_HDR_SIZE);
	/* FIXED with the wrong size, either way */
	put_frame(buf, MSG_PING, sizeof(u) - 1, 1, ROLE_SUPERVISOR, ROLE_ZK, 0, &u, sizeof(u) - 1);
	expect_reject(buf, IPC_HDR_SIZE + sizeof(u) - 1);
	put_frame(buf, MSG_PING, sizeof(u) + 1, 1, ROLE_SUPERVISOR, ROLE_ZK, 0, &u, sizeof(u));
	expect_reject(buf, IPC_HDR_SIZE);
	put_frame(buf, MSG_PING, 0, 1, ROLE_SUPERVISOR, ROLE_ZK, 0, NULL, 0);
	expect_reject(buf, IPC_HDR_SIZE);
}

static void expect_strv_reject(const uint8_t *payload, size_t plen)
{
	static uint8_t buf[IPC_HDR_SIZE + 512];
	struct ipc_strv sv;
	const char *err = NULL;
	size_t n;

	assert_true(plen <= 512);
	n = put_frame(buf, MSG_VM_DOMAIN, (uint32_t)plen, 1, ROLE_ZK, ROLE_VM, 0, payload, plen);
	expect_reject(buf, n);
	assert_int_equal(ipc_check_payload(MSG_VM_DOMAIN, payload, plen, &err), -1);
	assert_non_null(err);
	err = NULL;
	assert_int_equal(ipc_strv_decode(payload, plen, &sv, &err), -1);
	assert_non_null(err);
	assert_null(sv.v);
}

static void test_reject_strv(void **state)
{
	uint8_t p[512];
	const char *v2[] = {"ab", "cd"};
	size_t n;
	uint32_t x;

	/* truncated count */
	memset(p, 0, sizeof(p));
	expect_strv_reject(p, 0);
	expect_strv_reject(p, 3);
	/* count too big (and a count that would overflow size computations) */
	x = IPC_STRV_MAX + 1;
	memcpy(p, &x, 4);
	expect_strv_reject(p, 4);
	x = 0xffffffffu;
	memcpy(p, &x, 4);
	expect_strv_reject(p, 4);
	/* IPC_STRV_MAX + 1 empty strings, well-formed otherwise: the count alone is wrong */
	{
		size_t blen = 4 + ((size_t)IPC_STRV_MAX + 1) * 4;
		uint8_t *bp = calloc(1, blen);
		struct ipc_strv sv;
		const char *err = NULL;
		assert_non_null(bp);
		x = IPC_STRV_MAX + 1;
		memcpy(bp, &x, 4);
		assert_int_equal(ipc_check_payload(MSG_STATUS, bp, blen, &err), -1);
		assert_int_equal(ipc_strv_decode(bp, blen, &sv, &err), -1);
		x = IPC_STRV_MAX; /* and the same with one string less is fine */
		memcpy(bp, &x, 4);
		assert_int_equal(ipc_check_payload(MSG_STATUS, bp, blen - 4, &err), 0);
		free(bp);
	}
	/* count says 3, only 2 strings */
	n = put_strv(p, 3, v2, 2);
	expect_strv_reject(p, n);
	/* truncated inside a length field */
	n = put_strv(p, 2, v2, 1);
	memset(p + n, 0, 2);
	expect_strv_reject(p, n + 2);
	/* string runs past the end */
	n = put_strv(p, 2, v2, 2);
	expect_strv_reject(p, n - 1);
	x = 0xfffffff0u; /* huge length: must not wrap the bound check */
	memcpy(p + 4, &x, 4);
	expect_strv_reject(p, n);
	/* NUL inside a string */
	n = put_strv(p, 2, v2, 2);
	p[4 + 4 + 1] = '\0';
	expect_strv_reject(p, n);
	/* trailing bytes */
	n = put_strv(p, 2, v2, 2);
	p[n] = 'z';
	expect_strv_reject(p, n + 1);
	/* trailing bytes after count 0 */
	n = put_strv(p, 0, NULL, 0);
	p[n] = 0;
	expect_strv_reject(p, n + 1);
}

static void test_partial_and_many(void **state)
{
	static uint8_t buf[4096];
	const char *v[] = {"i", "", "a log line"};
	struct ipc_net_cmd nc = {.epoch = 9, .lease_until_ms = 77};
	uint8_t p[256];
	size_t plen, n1, n2, n3, total, off = 0, used;
	struct ipc_msg m;

	plen = put_strv(p, 3, v, 3);
	n1 = put_frame(buf, MSG_LOG, (uint32_t)plen, 1, ROLE_VM, ROLE_SUPERVISOR, 0, p, plen);
	n2 = put_frame(buf + n1, MSG_NET_TAKEOVER, sizeof(nc), 2, ROLE_ZK, ROLE_NET, 0, &nc,
		       sizeof(nc));
	n3 = put_frame(buf + n1 + n2, MSG_VM_SYNC_DONE, 0, 3, ROLE_ZK, ROLE_VM, 0, NULL, 0);
	total = n1 + n2 + n3;

	/* every proper prefix of the first frame is incomplete, not an error */
	for (size_t k = 0; k < n1; k++) {
		used = 12345;
		assert_int_equal(ipc_decode(buf, k, &m, &used, NULL), IPC_DECODE_MORE);
		assert_null(m.data);
		assert_int_equal(used, 12345);
	}
	/* three frames back to back */
	for (uint32_t want = 1; want <= 3; want++) {
		assert_int_equal(ipc_decode(buf + off, total - off, &m, &used, NULL), IPC_DECODE_OK);
		assert_int_equal(m.hdr.seq, want);
		off += used;
		ipc_msg_free(&m);
	}
	assert_int_equal(off, total);
	assert_int_equal(ipc_decode(buf + off, 0, &m, &used, NULL), IPC_DECODE_MORE);
	/* the last frame cut short */
	assert_int_equal(ipc_decode(buf + n1, n2 - 1, &m, &used, NULL), IPC_DECODE_MORE);
}

/* ---- string vectors ----------------------------------------------------------- */

static void test_strv_roundtrip(void **state)
{
	struct ipc_strv_buf b;
	struct ipc_strv sv;
	const uint8_t *p;
	size_t len;

	strvb_init(&b);
	strvb_add(&b, "uuid");
	strvb_add(&b, "");
	strvb_add(&b, NULL); /* stands for the empty string */
	strvb_addn(&b, "abcdef", 3);
	strvb_addf(&b, "v=%d", 42);
	p = strvb_finish(&b, &len);
	assert_non_null(p);
	assert_int_equal(ipc_check_payload(MSG_VM_DOMAIN, p, len, NULL), 0);
	assert_int_equal(ipc_strv_decode(p, len, &sv, NULL), 0);
	assert_int_equal(sv.n, 5);
	assert_string_equal(sv.v[0], "uuid");
	assert_string_equal(sv.v[1], "");
	assert_string_equal(sv.v[2], "");
	assert_string_equal(sv.v[3], "abc");
	assert_string_equal(sv.v[4], "v=42");
	assert_int_equal(sv.lens[0], 4);
	assert_int_equal(sv.lens[1], 0);
	assert_int_equal(sv.lens[3], 3);
	assert_null(sv.v[5]); /* NULL-terminated */
	ipc_strv_free(&sv);
	assert_null(sv.v);
	strvb_free(&b);

	/* an empty vector */
	strvb_init(&b);
	p = strvb_finish(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 4);
	assert_int_equal(ipc_strv_decode(p, len, &sv, NULL), 0);
	assert_int_equal(sv.n, 0);
	ipc_strv_free(&sv);
	strvb_free(&b);

	/* a NUL inside the given length poisons the builder */
	strvb_init(&b);
	strvb_addn(&b, "a\0b", 3);
	strvb_add(&b, "fine");
	assert_null(strvb_finish(&b, &len));
	strvb_free(&b);
}

static void test_strv_limits(void **state)
{
	struct ipc_strv_buf b;
	struct ipc_strv sv;
	const uint8_t *p;
	size_t len, big = IPC_MAX_PAYLOAD - 8; /* count + one length field */
	char *s = malloc(big + 2);

	assert_non_null(s);
	memset(s, 'x', big + 1);
	s[big + 1] = '\0';
	/* the largest single string fits exactly */
	strvb_init(&b);
	strvb_addn(&b, s, big);
	p = strvb_finish(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, IPC_MAX_PAYLOAD);
	assert_int_equal(ipc_strv_decode(p, len, &sv, NULL), 0);
	assert_int_equal(sv.lens[0], big);
	ipc_strv_free(&sv);
	strvb_free(&b);
	/* one byte more does not */
	strvb_init(&b);
	strvb_addn(&b, s, big + 1);
	assert_null(strvb_finish(&b, &len));
	strvb_free(&b);
	free(s);

	/* the largest count of (empty) strings, then one more */
	strvb_init(&b);
	for (uint32_t i = 0; i < IPC_STRV_MAX; i++)
		strvb_add(&b, "");
	p = strvb_finish(&b, &len);
	assert_non_null(p);
	assert_int_equal(ipc_strv_decode(p, len, &sv, NULL), 0);
	assert_int_equal(sv.n, IPC_STRV_MAX);
	ipc_strv_free(&sv);
	strvb_add(&b, "");
	assert_int_equal(b.failed, 1);
	assert_null(strvb_finish(&b, &len));
	strvb_free(&b);
}

/* ---- channels ----------------------------------------------------------------- */

static void test_chan_frames_and_fd(void **state)
{
	struct ipc_chan a, b;
	struct ipc_msg m;
	struct ipc_u64 u = {7};
	const char *v[] = {"r1", "/primary_node"};
	struct ipc_strv sv;
	int pfd[2];
	char got[8] = {0};

	chan_pair(&a, ROLE_VM, &b, ROLE_SUPERVISOR);
	assert_int_equal(pipe(pfd), 0);
	/* invalid frames are refused at the sender */
	assert_int_equal(ipc_send(&a, MSG_READY, ROLE_VM, NULL, 0, -1), -1); /* to itself */
	assert_int_equal(ipc_send(&a, MSG_READY, ROLE_COUNT, NULL, 0, -1), -1);
	assert_int_equal(ipc_send(&a, MSG_PING, ROLE_SUPERVISOR, &u, 3, -1), -1);
	assert_int_equal(ipc_send(&a, 0, ROLE_SUPERVISOR, NULL, 0, -1), -1);
	assert_false(ipc_chan_pending(&a));

	assert_int_equal(ipc_send(&a, MSG_READY, ROLE_SUPERVISOR, NULL, 0, -1), 0);
	assert_int_equal(ipc_send(&a, MSG_PONG, ROLE_SUPERVISOR, &u, sizeof(u), pfd[1]), 0);
	assert_int_equal(ipc_send_strv(&a, MSG_ZK_GET, ROLE_ZK, v, 2), 0);
	assert_true(ipc_chan_pending(&a));
	/* the kernel holds its own reference: closing ours must not matter */
	close(pfd[1]);
	assert_int_equal(ipc_chan_flush(&a), 1);

	assert_int_equal(ipc_chan_recv_wait(&b, &m, 2000), 0);
	assert_int_equal(m.hdr.type, MSG_READY);
	assert_int_equal(m.hdr.sender, ROLE_VM);
	assert_int_equal(m.hdr.seq, 1);
	assert_int_equal(m.fd, -1);
	ipc_msg_free(&m);

	assert_int_equal(ipc_chan_recv_wait(&b, &m, 2000), 0);
	assert_int_equal(m.hdr.type, MSG_PONG);
	assert_int_equal(m.hdr.seq, 2);
	assert_true(m.hdr.flags & IPC_F_FD);
	assert_true(m.fd >= 0);
	assert_int_equal(write(m.fd, "hello", 5), 5);
	assert_int_equal(read(pfd[0], got, sizeof(got)), 5);
	assert_string_equal(got, "hello");
	assert_true(fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
	/* forwarding keeps sender and seq and passes the fd on */
	{
		struct ipc_chan c, d;
		struct ipc_msg f;
		chan_pair(&c, ROLE_SUPERVISOR, &d, ROLE_NET);
		assert_int_equal(ipc_forward(&c, &m), 0);
		assert_int_equal(ipc_chan_flush(&c), 1);
		assert_int_equal(ipc_chan_recv_wait(&d, &f, 2000), 0);
		assert_int_equal(f.hdr.sender, ROLE_VM);
		assert_int_equal(f.hdr.seq, 2);
		assert_true(f.fd >= 0);
		assert_int_equal(write(f.fd, "x", 1), 1);
		assert_int_equal(read(pfd[0], got, 1), 1);
		ipc_msg_free(&f);
		ipc_chan_close(&c);
		ipc_chan_close(&d);
	}
	ipc_msg_free(&m);
	assert_int_equal(m.fd, -1);

	assert_int_equal(ipc_chan_recv_wait(&b, &m, 2000), 0);
	assert_int_equal(m.hdr.type, MSG_ZK_GET);
	assert_int_equal(m.hdr.dest, ROLE_ZK);
	assert_int_equal(ipc_strv_decode(m.data, m.hdr.len, &sv, NULL), 0);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[1], "/primary_node");
	ipc_strv_free(&sv);
	ipc_msg_free(&m);

	/* nothing more: a timeout, not a frame */
	assert_int_equal(ipc_chan_recv_wait(&b, &m, 50), -1);
	assert_int_equal(errno, ETIMEDOUT);
	/* peer gone: EOF */
	ipc_chan_close(&a);
	assert_int_equal(ipc_chan_recv_wait(&b, &m, 1000), -1);
	assert_int_equal(errno, EPIPE);
	ipc_chan_close(&b);
	close(pfd[0]);
}

/* A frame that announces an fd that never came breaks the channel. */
static void test_chan_missing_fd(void **state)
{
	struct ipc_chan b;
	struct ipc_msg m;
	uint8_t buf[IPC_HDR_SIZE];
	const char *err = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ipc_chan_init(&b, sv[1], ROLE_SUPERVISOR);
	put_frame(buf, MSG_READY, 0, 1, ROLE_FLUSH, ROLE_SUPERVISOR, IPC_F_FD, NULL, 0);
	assert_int_equal(write(sv[0], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_true(ipc_chan_read(&b) > 0);
	assert_int_equal(ipc_chan_get(&b, &m, &err), IPC_DECODE_ERROR);
	assert_non_null(err);
	assert_null(m.data);
	/* garbage on the wire is an error too, not a hang */
	close(sv[0]);
	ipc_chan_close(&b);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ipc_chan_init(&b, sv[1], ROLE_SUPERVISOR);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(write(sv[0], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(ipc_chan_recv_wait(&b, &m, 1000), -1);
	assert_int_equal(errno, EPROTO);
	close(sv[0]);
	ipc_chan_close(&b);
}

/* The largest payload through non-blocking sockets, written and read in turns. */
static void test_chan_1mib(void **state)
{
	struct ipc_chan a, b;
	struct ipc_strv_buf sb;
	struct ipc_strv sv;
	struct ipc_msg m;
	const uint8_t *p;
	size_t len, slen = IPC_MAX_PAYLOAD - 8;
	char *s = malloc(slen + 1);
	int got = 0, flushed = 0;

	assert_non_null(s);
	for (size_t i = 0; i < slen; i++)
		s[i] = (char)('a' + i % 26);
	s[slen] = '\0';
	strvb_init(&sb);
	strvb_addn(&sb, s, slen);
	p = strvb_finish(&sb, &len);
	assert_non_null(p);
	assert_int_equal(len, IPC_MAX_PAYLOAD);
	chan_pair(&a, ROLE_ZK, &b, ROLE_VM);
	assert_int_equal(ipc_send(&a, MSG_VM_DOMAIN, ROLE_VM, p, len, -1), 0);
	/* a second frame behind it must come out intact too */
	assert_int_equal(ipc_send(&a, MSG_VM_SYNC_DONE, ROLE_VM, NULL, 0, -1), 0);
	strvb_free(&sb);
	for (int rounds = 0; got < 2 && rounds < 100000; rounds++) {
		int rc;
		if (!flushed) {
			rc = ipc_chan_flush(&a);
			assert_true(rc >= 0);
			flushed = rc == 1;
		}
		if (ipc_chan_read(&b) < 0)
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		while ((rc = ipc_chan_get(&b, &m, NULL)) == IPC_DECODE_OK) {
			if (got == 0) {
				assert_int_equal(m.hdr.type, MSG_VM_DOMAIN);
				assert_int_equal(m.hdr.len, IPC_MAX_PAYLOAD);
				assert_int_equal(ipc_strv_decode(m.data, m.hdr.len, &sv, NULL), 0);
				assert_int_equal(sv.lens[0], slen);
				assert_memory_equal(sv.v[0], s, slen);
				ipc_strv_free(&sv);
			} else {
				assert_int_equal(m.hdr.type, MSG_VM_SYNC_DONE);
			}
			ipc_msg_free(&m);
			got++;
		}
		assert_int_equal(rc == IPC_DECODE_ERROR, 0);
	}
	assert_int_equal(got, 2);
	assert_int_equal(b.rlen, 0);
	ipc_chan_close(&a);
	ipc_chan_close(&b);
	free(s);
}

/* ---- validators --------------------------------------------------------------- */

static void test_valid_uuid(void **state)
{
	assert_true(valid_uuid("0b6c6c5e-4b52-4f6e-9d6e-2f3f3c1a0b11"));
	assert_true(valid_uuid("00000000-0000-0000-0000-000000000000"));
	assert_false(valid_uuid(NULL));
	assert_false(valid_uuid(""));
	assert_false(valid_uuid("0B6C6C5E-4B52-4F6E-9D6E-2F3F3C1A0B11")); /* upper case */
	assert_false(valid_uuid("0b6c6c5e-4b52-4f6e-9d6e-2f3f3c1a0b1"));  /* short */
	assert_false(valid_uuid("0b6c6c5e-4b52-4f6e-9d6e-2f3f3c1a0b111")); /* long */
	assert_false(valid_uuid("0b6c6c5e4b52-4f6e-9d6e-2f3f3c1a0b11-"));  /* dash moved */
	assert_false(valid_uuid("0b6c6c5e-4b52-4f6e-9d6e-2f3f3c1a0b1g"));
	assert_false(valid_uuid("0b6c6c5e-4b52-4f6e-9d6e-2f3f3c1a0b1 "));
	assert_false(valid_uuid("{b6c6c5e-4b52-4f6e-9d6e-2f3f3c1a0b1}"));
	assert_false(valid_uuid("../../../../../../../../../../etc/pa"));
}

static void test_valid_node_name(void **state)
{
	char n63[64], n64[65];

	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	assert_true(valid_node_name("hv1"));
	assert_true(valid_node_name("a"));
	assert_true(valid_node_name("node_1.example-2"));
	assert_true(valid_node_name(n63));
	assert_false(valid_node_name(n64));
	assert_false(valid_node_name(NULL));
	assert_false(valid_node_name(""));
	assert_false(valid_node_name("none")); /* the /primary_node marker */
	assert_false(valid_node_name(".hidden"));
	assert_false(valid_node_name("-x"));
	assert_false(valid_node_name("a/b"));
	assert_false(valid_node_name("a b"));
	assert_false(valid_node_name("a\n"));
	assert_false(valid_node_name("\xc3\xa9t\xc3\xa9"));
	assert_true(valid_node_name("None")); /* only lower-case none is reserved */
}

static void test_parse_ll(void **state)
{
	long long v = 99;

	assert_int_equal(parse_ll("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_ll("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_ll("9223372036854775807", 0, LLONG_MAX, &v), 0);
	assert_int_equal(v, LLONG_MAX);
	assert_int_equal(parse_ll("-9223372036854775808", LLONG_MIN, 0, &v), 0);
	assert_true(v == LLONG_MIN);
	v = 99;
	assert_int_equal(parse_ll("9223372036854775808", 0, LLONG_MAX, &v), -1); /* overflow */
	assert_int_equal(parse_ll("-9223372036854775809", LLONG_MIN, 0, &v), -1);
	assert_int_equal(parse_ll("11", 0, 10, &v), -1);  /* above max */
	assert_int_equal(parse_ll("-1", 0, 10, &v), -1);  /* below min */
	assert_int_equal(parse_ll("", 0, 10, &v), -1);
	assert_int_equal(parse_ll(NULL, 0, 10, &v), -1);
	assert_int_equal(parse_ll(" 1", 0, 10, &v), -1);
	assert_int_equal(parse_ll("1 ", 0, 10, &v), -1);
	assert_int_equal(parse_ll("1x", 0, 10, &v), -1);
	assert_int_equal(parse_ll("0x1", 0, 10, &v), -1);
	assert_int_equal(parse_ll("-", -10, 10, &v), -1);
	assert_int_equal(parse_ll("1.0", 0, 10, &v), -1);
	assert_int_equal(v, 99); /* untouched on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_reject_header),
		cmocka_unit_test(test_reject_strv),
		cmocka_unit_test(test_partial_and_many),
		cmocka_unit_test(test_strv_roundtrip),
		cmocka_unit_test(test_strv_limits),
		cmocka_unit_test(test_chan_frames_and_fd),
		cmocka_unit_test(test_chan_missing_fd),
		cmocka_unit_test(test_chan_1mib),
		cmocka_unit_test(test_valid_uuid),
		cmocka_unit_test(test_valid_node_name),
		cmocka_unit_test(test_parse_ll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
