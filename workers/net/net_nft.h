/*
 * net_nft.h: the client networks' firewall (ref §7.7) through libnftables, in a
 * table of our own (`inet pvc`) that is never flushed as a whole ruleset.
 */
#ifndef NET_NFT_H
#define NET_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "netdef.h"

#define NFT_TABLE "inet pvc"

struct nft_ctx;

struct nftn_applied {
	uint32_t vni;
	char *text; /* the rules last applied (without the element swap) */
};

struct nftn {
	struct nft_ctx *nft;
	char dir[256];   /* <dynamic_directory>/nft/networks */
	struct nftn_applied *v; /* networks whose rules are in place */
	size_t n, cap;
	int base_ok;
	int fresh; /* no list applied since start: the next one rebuilds the table */
};

/* Open libnftables (its netlink socket: before confinement). The table is left
 * as a previous run made it until the first net_nft_apply, which recreates it with
 * every network in one transaction. 0 or -1 (logged). */
int net_nft_open(struct nftn *f, const char *dynamic_dir);
void net_nft_close(struct nftn *f);
/* Text of a network's transaction (pure, unit-tested). `prev` (may be NULL) is
 * what is in place for this VNI: its map elements are then replaced. Returns
 * the length written, or -1 if it did not fit. */
int net_nft_render(const struct netdef *d, const struct nftn_applied *prev, char *buf, size_t cap);
/* Converge to `defs` (managed networks only are firewalled): a network whose
 * rules differ from what was applied last is replaced in one transaction, a
 * network no longer in the set is removed. Returns the number of failures. */
int net_nft_apply(struct nftn *f, const struct netdef *defs, size_t n);
/* "1001,1002" */
void net_nft_list(const struct nftn *f, char *buf, size_t cap);

#endif
