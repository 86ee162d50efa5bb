/*
 * net_lease.h: the lease socket of net-router (issue #9): the DHCP lease helper
 * run by dnsmasq connects, sends one request (lease_proto.h), net-router forwards
 * it to zk-election as MSG_NET_LEASE_EVENT and answers with MSG_NET_LEASE_REPLY.
 */
#ifndef NET_LEASE_H
#define NET_LEASE_H

#include <stdint.h>
#include <sys/types.h>

#include "ipc.h"
#include "lease_proto.h"

#define NETL_MAX_CONNS 64
#define NETL_READ_MS 2000   /* a request line must arrive within this */
#define NETL_REPLY_MS 8000  /* zk-election's answer (the helper gives up at 10 s) */
#define NETL_RC_TIMEOUT -1001

struct worker;
struct netl;

struct netl_conn {
	struct netl *L;
	int fd;
	char buf[LEASE_LINE_MAX];
	size_t len;
	uint64_t reqid;  /* 0: still reading */
	uint64_t timer;
};

struct netl {
	struct worker *w;
	int lfd;
	uid_t uid;      /* net-router's own: the only peer accepted besides root */
	uint64_t next_id;
	struct netl_conn *c[NETL_MAX_CONNS];
	uint64_t forwarded, answered, refused;
};

/* Before confinement: create the listening socket at `path` (replacing a stale
 * one), owned by uid/gid, mode 0600. 0 or -1 (logged). */
int net_lease_open(struct netl *L, const char *path, uid_t uid, gid_t gid);
/* Start accepting (after confinement, in the worker's loop). */
int net_lease_start(struct netl *L, struct worker *w);
/* MSG_NET_LEASE_REPLY [reqid, rc, lines...] */
void net_lease_reply(struct netl *L, const struct ipc_strv *sv);
void net_lease_close(struct netl *L);

#endif
