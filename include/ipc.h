/*
 * ipc.h: the framed message protocol between the supervisor, its workers and pvcctl:
 * the wire format, the message catalogue and the reply codes. The code that speaks
 * it lives in ipc/ (frame.h: codec and channels, strv.h: string vectors, drain.h:
 * the read-and-dispatch loop, zkreq.h: ZooKeeper requests through zk-election).
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
/* Valid = preferred lifetime of every primary address net-router holds (DESIGN §3):
 * an address outlives the lease by at most this (plus the kernel's rounding), so
 * zk-election ends the lease that much earlier. The one value both sides must agree
 * on; still also NETP_LIFETIME_S (workers/net) and ZK_ADDR_LIFETIME_MS (workers/zk). */
#define IPC_NET_ADDR_LIFETIME_MS 1000u

struct ipc_net_ack {
	uint64_t epoch;
	int32_t primary; /* 1: all primary resources are up; 0: none is */
	int32_t error;   /* 0 ok; else an errno-style code, message in `msg` */
	char msg[256];
};

/* zk-election -> the primary's services (api-units, dns-aggregator, metadata, ceph):
 * whether this node is the primary coordinator now. Sent when it changes and to every
 * service that says MSG_SVC_HELLO (a restarted service learns the state). `primary`
 * becomes 1 after net-router confirmed the floating addresses, and 0 before
 * net-router is told to remove them; `epoch` increases with every change. */
struct ipc_svc_primary {
	uint64_t epoch;
	int32_t primary;
	int32_t pad;
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
	/* zk-election <-> the primary's services and ceph */                      \
	X(MSG_SVC_HELLO, IPC_P_EMPTY, 0)                                             \
	X(MSG_SVC_PRIMARY, IPC_P_FIXED, sizeof(struct ipc_svc_primary))             \
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
	X(MSG_CTL_REPLY, IPC_P_STRV, 0)                                              \
	/* vm-manager <-> supervisor: a console log libvirt created root-only */     \
	X(MSG_VM_CONSOLE_OPEN, IPC_P_STRV, 0) /* [vm name] */                        \
	X(MSG_VM_CONSOLE_FD, IPC_P_STRV, 0)   /* [vm name, errno]; the fd if errno 0 */ \
	/* zk-election <-> ceph: break the RBD locks of volumes (flush_locks, fence \
	 * recovery) */                                                              \
	X(MSG_CEPH_CMD, IPC_P_STRV, 0)    /* [id, "flush_locks", pool/volume...] */  \
	X(MSG_CEPH_RESULT, IPC_P_STRV, 0) /* [id, success|failure, detail] */ \
	/* metadata <-> supervisor: the listening socket on 169.254.169.254:80 */    \
	X(MSG_META_LISTEN_OPEN, IPC_P_EMPTY, 0)                                      \
	X(MSG_META_LISTEN_FD, IPC_P_STRV, 0) /* [errno]; the socket if errno 0 */ \
	/* zk-election -> dns-aggregator: a DHCP lease was written (zones to refresh) */ \
	X(MSG_DNS_LEASES, IPC_P_EMPTY, 0)

struct pvc_config; /* include/config.h; sizeof needed only in ipc/frame.c */

enum ipc_type {
	MSG_NONE = 0,
#define IPC_ENUM(name, kind, size) name,
	IPC_MESSAGES(IPC_ENUM)
#undef IPC_ENUM
	MSG_COUNT
};

const char *ipc_type_name(uint32_t type);

/* ---- reply codes ------------------------------------------------------------
 * The second string of MSG_ZK_REPLY [reqid, rc, ...] and of MSG_NET_LEASE_REPLY:
 * 0, a ZooKeeper error code (zookeeper.h, which the clients do not include), or
 * one of zk-election's own. The last two never travel: ipc/zkreq.c hands them to
 * its callbacks. */
#define IPC_RC_OK 0
#define IPC_RC_NONODE (-101)     /* ZNONODE: no such key */
#define IPC_RC_BADVERSION (-103) /* ZBADVERSION: changed meanwhile (compare-and-set) */
#define IPC_RC_NODEEXISTS (-110) /* ZNODEEXISTS */
#define IPC_RC_POLICY (-1000)    /* refused by zk-election's path policy */
#define IPC_RC_NOTCONN (-1001)   /* ZooKeeper not connected: ask again later */
#define IPC_RC_BUSY (-1002)      /* too many requests of this role in flight: ask again later */
#define IPC_RC_CANCELLED (-9998) /* local: the request was dropped (ipc_zkreq_cancel_all) */
#define IPC_RC_GARBAGE (-9999)   /* local: a reply that does not parse */

/* The code that speaks the protocol (ipc/): every user of the catalogue gets it. */
#include "frame.h"
#include "strv.h"
#include "drain.h"

#endif
