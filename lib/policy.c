/*
 * policy.c: the routing table of the supervisor and the path table of the
 * ZooKeeper request API (policy.h). Only data and the two lookups live here, so
 * that one file says who may do what; tests/unit/test_policy.c enumerates both.
 */
#include <string.h>

#include "ipc.h"
#include "policy.h"

#define SUP POLICY_ROLE(ROLE_SUPERVISOR)
#define ZK POLICY_ROLE(ROLE_ZK)
#define VM POLICY_ROLE(ROLE_VM)
#define NET POLICY_ROLE(ROLE_NET)
#define FLUSH POLICY_ROLE(ROLE_FLUSH)
#define FENCE POLICY_ROLE(ROLE_FENCE)
#define API POLICY_ROLE(ROLE_API)
#define DNS POLICY_ROLE(ROLE_DNS)
#define META POLICY_ROLE(ROLE_META)
#define CEPH POLICY_ROLE(ROLE_CEPH)
#define CTL POLICY_ROLE(ROLE_CTL)
#define SERVICES (API | DNS | META | CEPH)
#define WORKERS (ZK | VM | NET | FLUSH | FENCE | SERVICES)
/* everybody whose requests zk-election serves or could be made to serve */
#define REQUESTERS (VM | NET | FLUSH | FENCE | SERVICES | CTL)

/*
 * The executable form of DESIGN.md §2.1; in particular only zk-election can
 * instruct net-router (takeover/relinquish), and only zk-election serves
 * ZooKeeper requests.
 */
const struct policy_route policy_routes[] = {
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
	{MSG_NET_NETWORKS, ZK, NET | DNS}, /* the DNS aggregator keeps a zone per network */
	{MSG_DNS_LEASES, ZK, DNS}, /* a lease changed: the aggregator transfers the zones soon */
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
	/* the primary's services follow zk-election's decision, never decide */
	{MSG_SVC_HELLO, SERVICES, ZK},
	{MSG_SVC_PRIMARY, ZK, SERVICES},
	/* domain state relay */
	{MSG_FLUSH_HELLO, FLUSH, ZK},
	{MSG_FLUSH_DOMAINSTATE, ZK, FLUSH},
	/* ZooKeeper requests; zk-election applies the path table below */
	{MSG_ZK_GET, VM | FLUSH | CEPH | META | CTL, ZK},
	{MSG_ZK_CHILDREN, VM | FLUSH | CEPH | META | CTL, ZK},
	{MSG_ZK_WRITE, VM | FLUSH | CEPH | CTL, ZK},
	{MSG_ZK_REPLY, ZK, VM | FLUSH | CEPH | META | CTL},
	/* pvcctl */
	{MSG_CTL_STATUS, CTL, SUP},
	{MSG_CTL_REPLY, SUP, CTL},
	/* console logs: the supervisor opens them read-only for vm-manager (console.c) */
	{MSG_VM_CONSOLE_OPEN, VM, SUP},
	{MSG_VM_CONSOLE_FD, SUP, VM},
	/* RBD locks: zk-election asks, the ceph worker (the only keyring holder) breaks */
	{MSG_CEPH_CMD, ZK, CEPH},
	{MSG_CEPH_RESULT, CEPH, ZK},
	/* the metadata API's port 80: the supervisor binds it, the worker has no capability */
	{MSG_META_LISTEN_OPEN, META, SUP},
	{MSG_META_LISTEN_FD, SUP, META},
};
const size_t policy_nroutes = sizeof(policy_routes) / sizeof(policy_routes[0]);

const uint32_t policy_sup_types[] = {
	MSG_CONFIG, MSG_READY, MSG_PING, MSG_PONG, MSG_SHUTDOWN, MSG_SHUTDOWN_DONE,
	MSG_STATUS, MSG_LOG, MSG_ZK_SESSION, MSG_CTL_STATUS, MSG_CTL_REPLY,
	MSG_VM_CONSOLE_OPEN, MSG_VM_CONSOLE_FD, MSG_META_LISTEN_OPEN, MSG_META_LISTEN_FD,
};
const size_t policy_nsup_types = sizeof(policy_sup_types) / sizeof(policy_sup_types[0]);

int policy_allowed(uint32_t type, enum pvc_role from, enum pvc_role to)
{
	if ((unsigned)from >= ROLE_COUNT || (unsigned)to >= ROLE_COUNT)
		return 0;
	for (size_t i = 0; i < policy_nroutes; i++) {
		if (policy_routes[i].type == type && (policy_routes[i].from & POLICY_ROLE(from)) &&
		    (policy_routes[i].to & POLICY_ROLE(to)))
			return 1;
	}
	return 0;
}

/*
 * DESIGN.md §2.2. Reads: the cluster state other workers need, never /locks or
 * /cmd. Writes: each key by the one role that owns it in the reference
 * (vm-manager: a VM's state and failure; flush: VM placement and this node's
 * flush state; pvcctl: /primary_node and any node's domainstate).
 *
 * Refusals first: every node's BMC address, user and password (ipmihostname,
 * ipmiusername, ipmipassword) are for zk-election's own fence requests only. A
 * requester that could read them could write them out again (vm-manager through
 * failedreason or consolelog) or simply reset any node. Listing /nodes/<n> still
 * shows the names; the values, and anything below them, are refused to all. "<any>"
 * rather than "<node>": a child of /nodes that is no valid node name is refused too.
 */
const struct policy_zk_rule policy_zk_rules[] = {
	{"/nodes/<any>/ipmi*", POLICY_ZK_READ | POLICY_ZK_TREE | POLICY_ZK_DENY, REQUESTERS, 0,
	 POLICY_ZV_NONE},
	{"/nodes/<any>/ipmi*", POLICY_ZK_WRITE | POLICY_ZK_TREE | POLICY_ZK_DENY, REQUESTERS, 0,
	 POLICY_ZV_NONE},

	{"/primary_node", POLICY_ZK_READ, VM | FLUSH | CTL, 0, POLICY_ZV_NONE},
	{"/maintenance", POLICY_ZK_READ, VM | FLUSH | CTL, 0, POLICY_ZV_NONE},
	{"/nodes", POLICY_ZK_READ | POLICY_ZK_TREE, VM | FLUSH | CTL, 0, POLICY_ZV_NONE},
	{"/domains", POLICY_ZK_READ | POLICY_ZK_TREE, VM | FLUSH | CTL, 0, POLICY_ZV_NONE},
	{"/networks", POLICY_ZK_READ | POLICY_ZK_TREE, VM | FLUSH | CTL, 0, POLICY_ZV_NONE},
	/* ceph: which OSDs are this node's (/ceph/osds/<id>/node), which pools PVC knows */
	{"/ceph/osds", POLICY_ZK_READ | POLICY_ZK_TREE, CEPH, 0, POLICY_ZV_NONE},
	{"/ceph/pools", POLICY_ZK_READ, CEPH, 0, POLICY_ZV_NONE},

	/* metadata: client IP -> DHCP lease (MAC) -> VM (name, profile, MACs in its XML),
	 * read-only and nothing else (not the networks' keys, not the VMs' state) */
	{"/networks", POLICY_ZK_READ, META, 0, POLICY_ZV_NONE},
	{"/networks/<any>/dhcp4_leases", POLICY_ZK_READ, META, 0, POLICY_ZV_NONE},
	{"/networks/<any>/dhcp4_leases/<any>/ipaddr", POLICY_ZK_READ, META, 0, POLICY_ZV_NONE},
	{"/domains", POLICY_ZK_READ, META, 0, POLICY_ZV_NONE},
	{"/domains/<uuid>", POLICY_ZK_READ, META, 0, POLICY_ZV_NONE},
	{"/domains/<uuid>/profile", POLICY_ZK_READ, META, 0, POLICY_ZV_NONE},
	{"/domains/<uuid>/xml", POLICY_ZK_READ, META, 0, POLICY_ZV_NONE},

	{"/primary_node", POLICY_ZK_WRITE | POLICY_ZK_NODELETE, CTL, 0, POLICY_ZV_PRIMARY},
	{"/domains/<uuid>/state", POLICY_ZK_WRITE, VM | FLUSH, 0, POLICY_ZV_VMSTATE},
	{"/domains/<uuid>/failedreason", POLICY_ZK_WRITE, VM, 0, POLICY_ZV_TEXT},
	{"/domains/<uuid>/consolelog", POLICY_ZK_WRITE, VM, 0, POLICY_ZV_TEXT},
	{"/domains/<uuid>/node", POLICY_ZK_WRITE, FLUSH, 0, POLICY_ZV_NODE},
	{"/domains/<uuid>/lastnode", POLICY_ZK_WRITE, FLUSH, 0, POLICY_ZV_OPT_NODE},
	{"/domains/<uuid>/node_autostart", POLICY_ZK_WRITE, FLUSH, 0, POLICY_ZV_PYBOOL},
	{"/domains/<uuid>/node_limit", POLICY_ZK_WRITE, FLUSH, 0, POLICY_ZV_NODE_LIST},
	{"/domains/<uuid>/node_selector", POLICY_ZK_WRITE, FLUSH, 0, POLICY_ZV_SELECTOR},
	{"/nodes/<node>/domainstate", POLICY_ZK_WRITE, FLUSH | CTL, FLUSH, POLICY_ZV_DOMAINSTATE},
	{"/nodes/<node>/runningdomains", POLICY_ZK_WRITE, FLUSH, FLUSH, POLICY_ZV_UUID_LIST},
	/* ceph: the statistics the reference's keepalive writes, and nothing else */
	{"/ceph", POLICY_ZK_WRITE | POLICY_ZK_NODELETE, CEPH, 0, POLICY_ZV_TEXT},
	{"/ceph/radosdf", POLICY_ZK_WRITE | POLICY_ZK_NODELETE, CEPH, 0, POLICY_ZV_TEXT},
	{"/ceph/pools/<name>/stats", POLICY_ZK_WRITE | POLICY_ZK_NODELETE, CEPH, 0, POLICY_ZV_TEXT},
	{"/ceph/osds/<name>/stats", POLICY_ZK_WRITE | POLICY_ZK_NODELETE, CEPH, 0, POLICY_ZV_TEXT},
};
const size_t policy_nzk_rules = sizeof(policy_zk_rules) / sizeof(policy_zk_rules[0]);

/* One path component [s, s+n) against one pattern component [p, p+pn). *node gets
 * the component matched by "<node>". */
static int component_match(const char *p, size_t pn, const char *s, size_t n, char *node,
			   size_t nodesize)
{
	char c[64];

	if (pn == 5 && strncmp(p, "<any>", 5) == 0)
		return n > 0;
	if (pn == 6 && strncmp(p, "<uuid>", 6) == 0) {
		if (n >= sizeof(c))
			return 0;
		memcpy(c, s, n);
		c[n] = '\0';
		return valid_uuid(c);
	}
	if (pn == 6 && strncmp(p, "<node>", 6) == 0) {
		if (n >= sizeof(c) || n >= nodesize)
			return 0;
		memcpy(c, s, n);
		c[n] = '\0';
		/* `none` is no node, but the request API has always taken it as a name */
		if (!valid_node_name(c) && strcmp(c, "none") != 0)
			return 0;
		memcpy(node, c, n + 1);
		return 1;
	}
	if (pn == 6 && strncmp(p, "<name>", 6) == 0) {
		/* a Ceph pool name or OSD id: [A-Za-z0-9_.-], not starting with a dot */
		if (n == 0 || n > 63 || s[0] == '.')
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' ||
			      s[i] == '-'))
				return 0;
		return 1;
	}
	if (pn > 0 && p[pn - 1] == '*')
		return n >= pn - 1 && strncmp(p, s, pn - 1) == 0;
	return pn == n && strncmp(p, s, n) == 0;
}

/* Component by component: the same number of components, or (tree) at least the
 * pattern's, the path going on below it. */
static int pattern_match(const char *pattern, const char *path, int tree, char *node,
			 size_t nodesize)
{
	const char *p = pattern, *s = path;

	while (*p == '/' && *s == '/') {
		size_t pn = strcspn(p + 1, "/"), n = strcspn(s + 1, "/");
		if (!component_match(p + 1, pn, s + 1, n, node, nodesize))
			return 0;
		p += 1 + pn;
		s += 1 + n;
	}
	return *p == '\0' && (*s == '\0' || (tree && *s == '/'));
}

static int rule_match(const struct policy_zk_rule *r, unsigned access, enum pvc_role role,
		      const char *self, const char *path)
{
	char node[64];

	node[0] = '\0';
	if (!(r->flags & access) || !(r->roles & POLICY_ROLE(role)) ||
	    !pattern_match(r->pattern, path, (r->flags & POLICY_ZK_TREE) != 0, node, sizeof(node)))
		return 0;
	if ((r->self_roles & POLICY_ROLE(role)) &&
	    (self == NULL || node[0] == '\0' || strcmp(node, self) != 0))
		return 0;
	return 1;
}

const struct policy_zk_rule *policy_zk_lookup(unsigned access, enum pvc_role role,
					      const char *self, const char *path)
{
	if ((unsigned)role >= ROLE_COUNT || path == NULL)
		return NULL;
	/* a refusal wins wherever it stands in the table */
	for (size_t i = 0; i < policy_nzk_rules; i++)
		if ((policy_zk_rules[i].flags & POLICY_ZK_DENY) &&
		    rule_match(&policy_zk_rules[i], access, role, self, path))
			return NULL;
	for (size_t i = 0; i < policy_nzk_rules; i++)
		if (!(policy_zk_rules[i].flags & POLICY_ZK_DENY) &&
		    rule_match(&policy_zk_rules[i], access, role, self, path))
			return &policy_zk_rules[i];
	return NULL;
}
