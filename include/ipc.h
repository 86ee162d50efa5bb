/*
 * ipc.h: the framed message protocol between the supervisor, its workers and pvcctl.
 *
 * Every frame is a 16-byte header followed by `len` payload bytes:
 *
 *   uint32 type | uint32 len | uint32 seq | uint8 sender | uint8 dest | uint16 flags
 *
 * in host byte order (both ends are the same binary on the same host). Frames travel
 * over SOCK_STREAM Unix sockets: socketpairs between the supervisor and each worker,
 * and the control socket between pvcctl and the supervisor. Workers never talk to
 * each other directly: the supervisor routes each frame by (type, sender, dest)
 * through the policy table (supervisor/policy.c) and drops anything else.
 *
 * A frame may carry one file descriptor (flags & IPC_F_FD, SCM_RIGHTS on the first
 * byte of the frame).
 *
 * Payload kinds:
 *   EMPTY  len == 0
 *   FIXED  len == sizeof(the struct named in the catalogue)
 *   STRV   a vector of strings: uint32 count, then count x (uint32 n, n bytes).
 *          Strings contain no NUL byte; count <= IPC_STRV_MAX; the encoded
 *          lengths must add up to exactly len.
 */
#ifndef IPC_H
#define IPC_H

#include <stddef.h>
#include <stdint.h>

#include "pvc.h"

#define IPC_HDR_SIZE 16u
#define IPC_MAX_PAYLOAD (1024u * 1024u) /* a VM's XML or console log fits */
#define IPC_STRV_MAX 65536u
/* Most bytes a channel holds queued for a peer that does not read; ipc_send() then
 * fails with ENOBUFS (a stuck worker is killed by the heartbeat long before). */
#define IPC_WBUF_MAX (32u * IPC_MAX_PAYLOAD)
#define IPC_F_FD 0x0001u
#define IPC_F_KNOWN IPC_F_FD

struct ipc_hdr {
	uint32_t type;
	uint32_t len;
	uint32_t seq;
	uint8_t sender;
	uint8_t dest;
	uint16_t flags;
};

enum ipc_payload_kind { IPC_P_EMPTY, IPC_P_FIXED, IPC_P_STRV };

/* ---- fixed payloads ---------------------------------------------------------- */

struct ipc_u64 {
	uint64_t value;
};

/* ZooKeeper session credentials, kept by the supervisor so that a restarted
 * zk-election resumes the same session (no failover on a worker crash). */
struct ipc_zk_session {
	int64_t client_id;
	char passwd[16];
	int32_t valid;
	int32_t pad;
};

/* zk-election -> net-router instructions. `epoch` increases with each instruction;
 * net-router echoes it in its ack. `lease_until_ms` is a CLOCK_MONOTONIC deadline
 * (system-wide clock) until which zk-election vouches for its ZooKeeper session:
 * net-router refreshes the lifetime of primary addresses only before it. */
struct ipc_net_cmd {
	uint64_t epoch;
	uint64_t lease_until_ms;
};

struct ipc_net_ack {
	uint64_t epoch;
	int32_t primary; /* 1: all primary resources are up; 0: none is */
	int32_t error;   /* 0 ok; else an errno-style code, message in `msg` */
	char msg[256];
};

struct ipc_shutdown {
	uint32_t phase; /* see supervisor.c: 1 = announce, 2 = final */
	uint32_t pad;
};

/* ---- message catalogue ------------------------------------------------------
 * X(name, payload kind, fixed struct size)
 * Routing (who may send what to whom) lives in supervisor/policy.c. */
#define IPC_MESSAGES(X)                                                              \
	/* supervisor <-> every worker */                                            \
	X(MSG_CONFIG, IPC_P_FIXED, sizeof(struct pvc_config))                        \
	X(MSG_READY, IPC_P_EMPTY, 0)                                                 \
	X(MSG_PING, IPC_P_FIXED, sizeof(struct ipc_u64))                             \
	X(MSG_PONG, IPC_P_FIXED, sizeof(struct ipc_u64))                             \
	X(MSG_SHUTDOWN, IPC_P_FIXED, sizeof(struct ipc_shutdown))                    \
	X(MSG_SHUTDOWN_DONE, IPC_P_FIXED, sizeof(struct ipc_shutdown))               \
	X(MSG_STATUS, IPC_P_STRV, 0)   /* "key=value"..., replaces the previous */  \
	X(MSG_LOG, IPC_P_STRV, 0)      /* [state letter, prefix, message] */        \
	X(MSG_ZK_SESSION, IPC_P_FIXED, sizeof(struct ipc_zk_session))                \
	/* zk-election <-> net-router */                                             \
	X(MSG_NET_TAKEOVER, IPC_P_FIXED, sizeof(struct ipc_net_cmd))                 \
	X(MSG_NET_RELINQUISH, IPC_P_FIXED, sizeof(struct ipc_net_cmd))               \
	X(MSG_NET_LEASE, IPC_P_FIXED, sizeof(struct ipc_net_cmd))                    \
	X(MSG_NET_ACK, IPC_P_FIXED, sizeof(struct ipc_net_ack))                      \
	X(MSG_NET_HELLO, IPC_P_EMPTY, 0)                                             \
	X(MSG_NET_NETWORKS, IPC_P_STRV, 0) /* client networks, DESIGN.md 2.1 */      \
	X(MSG_NET_LEASE_EVENT, IPC_P_STRV, 0) /* DHCP lease helper -> ZooKeeper */     \
	X(MSG_NET_LEASE_REPLY, IPC_P_STRV, 0) /* [reqid, rc, lines...] */              \
	/* zk-election <-> vm-manager */                                             \
	X(MSG_VM_HELLO, IPC_P_EMPTY, 0)                                              \
	X(MSG_VM_DOMAIN, IPC_P_STRV, 0) /* [uuid,name,state,node,lastnode,version] */ \
	X(MSG_VM_DOMAIN_GONE, IPC_P_STRV, 0) /* [uuid] */                            \
	X(MSG_VM_SYNC_DONE, IPC_P_EMPTY, 0)                                          \
	X(MSG_VM_STATS, IPC_P_STRV, 0) /* [memalloc,vcpualloc,domainscount,running] */ \
	X(MSG_VM_KEEPALIVE, IPC_P_FIXED, sizeof(struct ipc_u64)) /* self-fencing clock */ \
	/* zk-election <-> fence */                                                  \
	X(MSG_FENCE_REQ, IPC_P_STRV, 0)    /* [id, node, ipmihost, user, password] */ \
	X(MSG_FENCE_RESULT, IPC_P_STRV, 0) /* [id, node, ok|failed, detail] */      \
	/* zk-election <-> flush */                                                  \
	X(MSG_FLUSH_HELLO, IPC_P_EMPTY, 0)                                           \
	X(MSG_FLUSH_DOMAINSTATE, IPC_P_STRV, 0) /* [value, version] */               \
	/* ZooKeeper access for vm-manager, flush and pvcctl (through zk-election) */ \
	X(MSG_ZK_GET, IPC_P_STRV, 0)      /* [reqid, path] */                       \
	X(MSG_ZK_CHILDREN, IPC_P_STRV, 0) /* [reqid, path] */                       \
	X(MSG_ZK_WRITE, IPC_P_STRV, 0)    /* [reqid, (op, path, value)...] */        \
	X(MSG_ZK_REPLY, IPC_P_STRV, 0)    /* [reqid, rc, ...] */                     \
	/* pvcctl <-> supervisor */                                                  \
	X(MSG_CTL_STATUS, IPC_P_EMPTY, 0)                                            \
	X(MSG_CTL_REPLY, IPC_P_STRV, 0)

struct pvc_config; /* include/config.h; sizeof needed only in ipc.c */

enum ipc_type {
	MSG_NONE = 0,
#define IPC_ENUM(name, kind, size) name,
	IPC_MESSAGES(IPC_ENUM)
#undef IPC_ENUM
	MSG_COUNT
};

const char *ipc_type_name(uint32_t type);

/* ---- decoded frames --------------------------------------------------------- */

struct ipc_msg {
	struct ipc_hdr hdr;
	uint8_t *data; /* len bytes, followed by one NUL (owned) */
	int fd;        /* -1 unless the frame carried one */
};

void ipc_msg_free(struct ipc_msg *msg);

enum ipc_decode_result { IPC_DECODE_OK = 0, IPC_DECODE_MORE = 1, IPC_DECODE_ERROR = -1 };

/*
 * Strict decoder for one frame at the start of buf[0..len). On OK, *consumed is the
 * frame's size and msg->data a private copy. On ERROR, `err` (if not NULL) names the
 * inconsistency. The decoder checks: known type, known flags, sender/dest roles in
 * range, len <= IPC_MAX_PAYLOAD, and the payload against the type's kind.
 */
int ipc_decode(const uint8_t *buf, size_t len, struct ipc_msg *msg, size_t *consumed,
	       const char **err);

/* Payload check by kind (used by ipc_decode and for locally built frames). */
int ipc_check_payload(uint32_t type, const uint8_t *data, size_t len, const char **err);

/* ---- string vectors --------------------------------------------------------- */

struct ipc_strv {
	uint32_t n;
	char **v;       /* n NUL-terminated strings */
	uint32_t *lens; /* their lengths */
};

/* Decode a STRV payload (validated). Returns 0, or -1 with err set. */
int ipc_strv_decode(const uint8_t *data, size_t len, struct ipc_strv *out, const char **err);
void ipc_strv_free(struct ipc_strv *sv);

/* A builder for STRV payloads. */
struct ipc_strv_buf {
	uint8_t *data;
	size_t len, cap;
	uint32_t count;
	int failed;
};
void strvb_init(struct ipc_strv_buf *b);
void strvb_add(struct ipc_strv_buf *b, const char *s);           /* NUL-terminated */
void strvb_addn(struct ipc_strv_buf *b, const char *s, size_t n); /* must contain no NUL */
void strvb_addf(struct ipc_strv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Finish: returns payload pointer and length, or NULL if any step failed. */
const uint8_t *strvb_finish(struct ipc_strv_buf *b, size_t *len);
void strvb_free(struct ipc_strv_buf *b);

/* ---- channels ---------------------------------------------------------------- */

struct ipc_chan {
	int fd;
	enum pvc_role self; /* stamped into `sender` of every frame we write */
	uint32_t next_seq;
	uint8_t *rbuf;
	size_t roff; /* rbuf[roff..rlen) is not decoded yet */
	size_t rlen, rcap;
	int rfds[4]; /* fds received but not yet attached to a frame */
	int nrfds;
	uint8_t *wbuf;
	size_t wlen, wcap, woff;
	int wfd_pending; /* fd to attach to the first byte of the pending frame at woff */
	size_t wfd_at;   /* offset in wbuf of that frame */
	struct ipc_fdq *fdq; /* queued fds for frames not yet reached */
	int eof;
};

struct ipc_fdq {
	size_t at;
	int fd;
	struct ipc_fdq *next;
};

void ipc_chan_init(struct ipc_chan *c, int fd, enum pvc_role self);
void ipc_chan_close(struct ipc_chan *c);

/* Queue a frame. fd >= 0 is passed (dup'ed by the kernel on send; the caller keeps
 * ownership of its copy). Returns 0 or -1 (errno) if the frame is invalid (EINVAL),
 * the peer is gone (EPIPE), IPC_WBUF_MAX is reached (ENOBUFS) or memory runs out.
 * Nothing is written until ipc_chan_flush(). */
int ipc_send(struct ipc_chan *c, uint32_t type, enum pvc_role dest, const void *data,
	     size_t len, int fd);
/* Queue a STRV frame built from `n` strings. */
int ipc_send_strv(struct ipc_chan *c, uint32_t type, enum pvc_role dest, const char *const *v,
		  uint32_t n);
/* Forward a decoded frame unchanged (supervisor routing; keeps sender and seq). */
int ipc_forward(struct ipc_chan *c, const struct ipc_msg *msg);

/* Write as much as possible. Returns 1 if everything is flushed, 0 if data remain
 * (wait for POLLOUT), -1 on error (peer gone). */
int ipc_chan_flush(struct ipc_chan *c);
int ipc_chan_pending(const struct ipc_chan *c);
/* Blocking flush with a timeout in ms; 0 when flushed, -1 otherwise. */
int ipc_chan_flush_wait(struct ipc_chan *c, int timeout_ms);

/* Read what is available. Returns bytes read (>0), 0 on EOF, -1 on error
 * (EAGAIN included: check errno). */
ssize_t ipc_chan_read(struct ipc_chan *c);
/* Take the next complete frame out of the read buffer: IPC_DECODE_OK with *msg filled,
 * IPC_DECODE_MORE if incomplete, IPC_DECODE_ERROR on a malformed frame (the channel
 * must then be closed: framing is lost). */
int ipc_chan_get(struct ipc_chan *c, struct ipc_msg *msg, const char **err);
/* Blocking receive of one frame with a timeout; 0 ok, -1 on error/timeout/EOF. */
int ipc_chan_recv_wait(struct ipc_chan *c, struct ipc_msg *msg, int timeout_ms);

#endif
