/*
 * net_primary.h: the addresses that belong to the primary coordinator (floating IPs,
 * metadata address, client-network gateways): takeover, relinquish, lifetime
 * refresh under the session lease, announcements and start-up reconciliation.
 * No event loop and no IPC here, so bench/net_router.c drives the same code as the
 * worker (workers/net/router.c). Arithmetic: docs/net-router.md.
 */
#ifndef NET_PRIMARY_H
#define NET_PRIMARY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net_netlink.h"

#define NETP_LIFETIME_S 1     /* L: valid = preferred lifetime of every primary address */
#define NETP_REFRESH_MS 250   /* refresh period while the lease holds */
#define NETP_KERNEL_SLACK_MS 1000 /* the kernel's lifetime check rounds up to whole seconds */
#define NETP_MAX_NETS 256
#define NETP_MAX_TARGETS (4 + 2 * NETP_MAX_NETS)
/* a lease further ahead than this is garbage (sessions last at most 60 s) */
#define NETP_LEASE_MAX_AHEAD_MS 120000u

struct netp_net {
	uint32_t vni;
	int has4, has6;
	struct nl_addr gw4, gw6; /* ifindex unresolved (0) */
};

struct netp_target {
	char dev[16];
	char what[48];
	struct nl_addr a;
	uint8_t mac[8];
	int maclen; /* 0: nothing to announce (lo) */
	int fresh;  /* added by the last apply (not held before): to announce */
};

struct netp {
	const struct pvc_config *cfg;
	struct nl_sock nl;
	int pkt; /* AF_PACKET socket for announcements */
	struct netp_net nets[NETP_MAX_NETS];
	size_t nnets;
	int nets_code;      /* errno of refused network entries, 0 if none */
	char nets_err[200]; /* and their description */
	struct netp_target held[NETP_MAX_TARGETS]; /* what we added and keep refreshing */
	size_t nheld;
	int primary;
	uint64_t lease_until_ms;
	int refresh_failing; /* to log a failing refresh once, not 4 times a second */
	char last_error[256];
};

/* ---- pure parts (unit-tested) --------------------------------------------------- */
/* Parse "vni=<n> gw4=<a/p|None> gw6=<a/p|None>" (keys in any order, gw4/gw6 may be
 * omitted = None). 0, or -1 with err naming the bad value. */
int net_primary_parse_network(const char *entry, struct netp_net *out, char *err, size_t errlen);
/* May a refresh extend the lifetime at `now`? */
int net_primary_lease_ok(uint64_t now, uint64_t lease_until_ms);
/* Is `lease_until_ms` a plausible deadline at `now`? */
int net_primary_lease_plausible(uint64_t now, uint64_t lease_until_ms);
/* Delay until the next tick: the refresh period, cut short by the lease deadline. */
uint64_t net_primary_next_tick_ms(uint64_t now, int primary, uint64_t lease_until_ms);
/* Latest moment an address refreshed at `t` can still exist after a crash. */
uint64_t net_primary_linger_until_ms(uint64_t t);

/* ---- kernel side ------------------------------------------------------------------ */
int net_primary_open(struct netp *p, const struct pvc_config *cfg); /* 0 or -errno */
void net_primary_close(struct netp *p);
/* Replace the managed networks (MSG_NET_NETWORKS). Bad entries are dropped and
 * named in err. While primary, gateways are added/removed to match; while not,
 * their addresses are removed if present (leftovers of a previous run).
 * Returns 0, or a positive errno (err filled) if any entry or address failed. */
int net_primary_set_networks(struct netp *p, const char *const *v, uint32_t n, char *err,
			     size_t errlen);
/* The same with networks already parsed (MSG_NET_NETWORKS through netdef.h):
 * `refused` is the errno of entries the caller dropped (err names them), 0 if none. */
int net_primary_set_nets(struct netp *p, const struct netp_net *nets, size_t n, int refused,
			 char *err, size_t errlen);
/* Add every primary address (lifetime L) and announce them once.
 * Returns 0 or a positive errno with msg naming the first problem; *primary is
 * 1 when every valid address is present. */
int net_primary_takeover(struct netp *p, uint64_t lease_until_ms, int *primary, char *msg,
			 size_t msglen);
/* Remove every primary address. 0 or a positive errno with msg. */
int net_primary_relinquish(struct netp *p, char *msg, size_t msglen);
/* The 250 ms tick: refresh the lifetimes while the lease holds; when it has lapsed,
 * remove everything at once. Returns 1 when this call dropped the primary role. */
int net_primary_tick(struct netp *p, uint64_t now);
/* One announcement round (GARP_BURST frames per announced address). Returns the
 * number of frames sent, or -errno if none could be sent while some should. */
int net_primary_announce(struct netp *p);
/* Start-up: remove leftover primary addresses from the kernel: floating and
 * metadata addresses wherever they sit, and short-lived addresses (ours) on vmbr*
 * bridges, before the network list is known. Returns the number removed, or -errno. */
int net_primary_reconcile(struct netp *p);

#endif
