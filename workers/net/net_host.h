/*
 * net_host.h: the node's static networking at start-up (ref §7.1 with its [C] fixes),
 * done over rtnetlink and /proc/sys instead of ip/brctl/sysctl. Idempotent.
 */
#ifndef NET_HOST_H
#define NET_HOST_H

#include "config.h"
#include "net_netlink.h"

enum net_if { NET_IF_CLUSTER, NET_IF_STORAGE, NET_IF_UPSTREAM };

/* The config block of one host network. */
const struct cfg_iface *net_host_iface(const struct pvc_config *cfg, enum net_if which);
/* The bridge that carries a host network: brcluster for the cluster device and for
 * any network sharing that device; brstorage; brupstream (or brstorage when the
 * upstream device is the storage device). NULL if the network has no device. */
const char *net_host_bridge(const struct pvc_config *cfg, enum net_if which);

/* Make sure a bridge named `name` exists (creating it if needed) and return its
 * ifindex, or -errno (-EEXIST if the name belongs to something that is not a
 * bridge). */
int net_host_bridge_ensure(struct nl_sock *nl, const char *name);

/* Bring up devices, bridges, addresses, default route and sysctls. Every step is
 * attempted; failures are logged. Returns the number of failed steps; the text of
 * the last one is left in err. */
int net_host_setup(struct nl_sock *nl, const struct pvc_config *cfg, char *err,
		   size_t errlen);

/* Write `value` to /proc/sys/<key> (key like "net/ipv4/ip_forward"). 0 or -errno. */
int net_host_sysctl_write(const char *key, const char *value);

#endif
