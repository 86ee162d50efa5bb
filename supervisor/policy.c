/*
 * policy.c: which role may send which message to which role.
 *
 * The supervisor routes every frame through policy_allowed(). Anything not listed
 * is dropped and logged. The table is the executable form of DESIGN.md §2.1; in
 * particular only zk-election can instruct net-router (takeover/relinquish), and only
 * zk-election serves ZooKeeper requests.
 */
#include <stddef.h>

#include "ipc.h"
#include "supervisor.h"

#define SUP (1u << ROLE_SUPERVISOR)
#define ZK (1u << ROLE_ZK)
#define VM (1u << ROLE_VM)
#define NET (1u << ROLE_NET)
#define FLUSH (1u << ROLE_FLUSH)
#define FENCE (1u << ROLE_FENCE)
#define CTL (1u << ROLE_CTL)
#define WORKERS (ZK | VM | NET | FLUSH | FENCE)

struct policy_rule {
	uint32_t type;
	uint32_t from; /* bitmask of roles */
	uint32_t to;   /* bitmask of roles */
};

static const struct policy_rule policy[] = {
	/* supervisor <-> workers */
	{MSG_CONFIG, SUP, WORKERS},
	{MSG_READY, WORKERS, SUP},
	{MSG_PING, SUP, WORKERS},
	{MSG_PONG, WORKERS, SUP},
	{MSG_SHUTDOWN, SUP, WORKERS},
	{MSG_SHUTDOWN_DONE, WORKERS, SUP},
	{MSG_STATUS, WORKERS, SUP},
	{MSG_LOG, WORKERS, SUP},
	{MSG_ZK_SESSION, ZK, SUP},
	{MSG_ZK_SESSION, SUP, ZK},
	/* the primary's resources: zk-election alone decides */
	{MSG_NET_TAKEOVER, ZK, NET},
	{MSG_NET_RELINQUISH, ZK, NET},
	{MSG_NET_LEASE, ZK, NET},
	{MSG_NET_NETWORKS, ZK, NET},
	{MSG_NET_ACK, NET, ZK},
	{MSG_NET_HELLO, NET, ZK},
	/* DHCP lease events: net-router relays its lease helper, zk-election validates and writes */
	{MSG_NET_LEASE_EVENT, NET, ZK},
	{MSG_NET_LEASE_REPLY, ZK, NET},
	/* VM state relay */
	{MSG_VM_HELLO, VM, ZK},
	{MSG_VM_DOMAIN, ZK, VM},
	{MSG_VM_DOMAIN_GONE, ZK, VM},
	{MSG_VM_SYNC_DONE, ZK, VM},
	{MSG_VM_STATS, VM, ZK},
	{MSG_VM_KEEPALIVE, ZK, VM},
	/* fencing: zk-election decides, the fence worker only runs ipmitool */
	{MSG_FENCE_REQ, ZK, FENCE},
	{MSG_FENCE_RESULT, FENCE, ZK},
	/* domain state relay */
	{MSG_FLUSH_HELLO, FLUSH, ZK},
	{MSG_FLUSH_DOMAINSTATE, ZK, FLUSH},
	/* ZooKeeper requests; zk-election applies the per-path policy */
	{MSG_ZK_GET, VM | FLUSH | CTL, ZK},
	{MSG_ZK_CHILDREN, VM | FLUSH | CTL, ZK},
	{MSG_ZK_WRITE, VM | FLUSH | CTL, ZK},
	{MSG_ZK_REPLY, ZK, VM | FLUSH | CTL},
	/* pvcctl */
	{MSG_CTL_STATUS, CTL, SUP},
	{MSG_CTL_REPLY, SUP, CTL},
};

int policy_allowed(uint32_t type, enum pvc_role from, enum pvc_role to)
{
	if ((unsigned)from >= ROLE_COUNT || (unsigned)to >= ROLE_COUNT)
		return 0;
	for (size_t i = 0; i < sizeof(policy) / sizeof(policy[0]); i++) {
		if (policy[i].type == type && (policy[i].from & (1u << from)) &&
		    (policy[i].to & (1u << to)))
			return 1;
	}
	return 0;
}
