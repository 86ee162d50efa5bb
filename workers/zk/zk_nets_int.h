/*
 * zk_nets_int.h: private link between zk_networks.c, which owns the networks
 * state of zk-election (struct zk_nets), and zk_net_lease.c (issue #9).
 */
#ifndef ZK_NETS_INT_H
#define ZK_NETS_INT_H

struct zk_ctx;
struct lease_op;

/* Head of the list of lease operations in flight or waiting, in arrival order:
 * events for the same lease run one after the other (zk_net_lease.c). */
struct lease_op **zk_nets_lease_ops(struct zk_ctx *z);

#endif
