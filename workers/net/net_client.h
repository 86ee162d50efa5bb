/*
 * net_client.h: the kernel side of client networks on every node with networking
 * (issue #9, ref §7.2): vxlan<vni> / vlan<vni> links enslaved to vmbr<vni>
 * bridges, over rtnetlink.
 */
#ifndef NET_CLIENT_H
#define NET_CLIENT_H

#include <stddef.h>

#include "config.h"
#include "net_netlink.h"
#include "netdef.h"

#define NETC_VXLAN_PORT 4789
#define NETC_VXLAN_OVERHEAD 50 /* outer Ethernet + IPv4 + UDP + VXLAN headers */

struct netc {
	struct nl_sock *nl;
	const struct pvc_config *cfg;
	int ioctl_fd; /* AF_INET datagram socket for SIOCETHTOOL, -1 if none */
};

/* Is `name` one of ours (vmbr/vxlan/vlan followed by digits only)? Sets *vni. */
int net_client_our_name(const char *name, uint32_t *vni);
/* The MTU of a network's link and bridge (cluster MTU, minus the VXLAN overhead
 * for managed networks). */
int net_client_mtu(const struct pvc_config *cfg, int managed);
/* Make the kernel carry exactly the networks of `defs`: create or adopt each
 * network's link and bridge, and delete every vmbr/vxlan/vlan<digits> interface
 * that belongs to no network of the set. ok[i] (may be NULL) tells whether
 * network i is in place. Returns the number of networks that failed (each logged
 * with its VNI and device), or -errno when the links cannot even be listed. */
int net_client_apply(struct netc *c, const struct netdef *defs, size_t n, int *ok);

#endif
