/*
 * zk_nets_int.h: private to networks.c, which owns the networks state of
 * zk-election (struct zk_nets) and reads /networks, networks_send.c, which builds
 * and sends the set to net-router, and net_lease.c (issue #9).
 */
#ifndef ZK_NETS_INT_H
#define ZK_NETS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "netdef.h"

struct zk_ctx;
struct lease_op;

enum { K_DESC, K_NETTYPE, K_DOMAIN, K_NS, K_NET4, K_GW4, K_DHCP4, K_START, K_END, K_NET6,
       K_GW6, K_DHCP6, NKEYS };
/* containers with children of two fields each */
enum { C_RES, C_IN, C_OUT, NCONT };
struct zn_child {
	char *name;
	char *val[2]; /* NULL: absent or not read yet */
};

struct zn_net {
	char name[16];  /* child name of /networks, at most 8 digits when valid */
	uint32_t vni;   /* 0: the name is not a VNI */
	char *val[NKEYS];
	struct zn_child *ch[NCONT];
	size_t nch[NCONT];
	char *err;      /* last reported problem, NULL when valid */
	int reported;   /* err (or validity) has been logged */
	int valid;      /* def holds the last valid definition */
	uint64_t hash;  /* of its last encoded record, 0 before the first */
	struct netdef def; /* last built definition (valid only if `valid`) */
};

struct zk_nets {
	struct zn_net **net; /* sorted by (name length, name): numeric order */
	size_t n;
	int listed;          /* /networks read in this generation */
	uint64_t gen;        /* bumps on every (re)connection: older completions are stale */
	int outstanding;     /* reads of this generation in flight */
	int dirty, force;
	int reread;          /* after a (re)connection: re-read known networks (watches) */
	uint64_t timer;
	uint8_t *last;       /* last payload sent */
	size_t lastlen;
	int sent_once;
	struct lease_op *lease_ops; /* net_lease.c */
};

/* the key of each K_ index under /networks/<vni>/ ("" for the network's own data) */
extern const char *const zn_keyname[NKEYS];

/* networks_send.c */
/* Rebuild every definition and send the valid set if it changed (or is forced). */
void zk_networks_send_now(struct zk_ctx *z);
/* Send soon (coalescing a burst of changes) if something changed or is forced. */
void zk_networks_send_arm(struct zk_ctx *z);

/* Head of the list of lease operations in flight or waiting, in arrival order:
 * events for the same lease run one after the other (net_lease.c). */
struct lease_op **zk_networks_lease_ops(struct zk_ctx *z);

#endif
