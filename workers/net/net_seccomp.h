/*
 * net_seccomp.h: net-router's seccomp allow-list, handed to sandbox_enter() by
 * router.c and inherited by dnsmasq and the lease helper.
 */
#ifndef NET_SECCOMP_H
#define NET_SECCOMP_H

/* Add net-router's rules to `scmp_ctx` (beyond sandbox_rules_common). 0 or -1 (logged). */
int net_seccomp_rules(void *scmp_ctx);

struct sock_fprog;
/* dnsmasq's own filter, to stack on the inherited one right before its execve
 * (prctl(PR_SET_SECCOMP), async-signal-safe): no packet socket, netlink only
 * NETLINK_ROUTE, no pidfd signals, no SIOCETHTOOL. out->filter is malloc'd. 0 or
 * -1 (logged). */
int net_seccomp_dnsmasq_prog(struct sock_fprog *out);

#endif
