/*
 * policy.h: who may talk to whom, as data (lib/policy.c).
 *
 * Two tables: the frame routing table, through which the supervisor passes every
 * frame (DESIGN.md §2.1), and the ZooKeeper path table of the request API that
 * zk-election serves (DESIGN.md §2.2). Both are const arrays, enumerated by
 * tests/unit/test_policy.c; anything not listed is refused.
 */
#ifndef PVC_POLICY_H
#define PVC_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "pvc.h"

#define POLICY_ROLE(r) (1u << (r))

/* ---- frame routing ---------------------------------------------------------------- */

struct policy_route {
	uint32_t type; /* enum ipc_type */
	uint32_t from; /* bitmask of roles (POLICY_ROLE) */
	uint32_t to;   /* bitmask of roles */
};

extern const struct policy_route policy_routes[];
extern const size_t policy_nroutes;

/* Message types the supervisor itself produces or consumes (never forwarded between
 * two other parties): each of their routes has the supervisor at one end. */
extern const uint32_t policy_sup_types[];
extern const size_t policy_nsup_types;

/* 1 if a frame of `type` may go from `from` to `to`. */
int policy_allowed(uint32_t type, enum pvc_role from, enum pvc_role to);

/* ---- ZooKeeper paths of the request API ------------------------------------------- */

/* What a written value must be (checked by zk-election's validators). */
enum policy_zk_value {
	POLICY_ZV_NONE,        /* read rules */
	POLICY_ZV_TEXT,        /* any text up to 1 MB */
	POLICY_ZV_VMSTATE,
	POLICY_ZV_NODE,        /* a node name */
	POLICY_ZV_OPT_NODE,    /* empty or a node name */
	POLICY_ZV_PYBOOL,      /* True / False */
	POLICY_ZV_NODE_LIST,
	POLICY_ZV_SELECTOR,
	POLICY_ZV_DOMAINSTATE,
	POLICY_ZV_UUID_LIST,
	POLICY_ZV_PRIMARY,     /* a node name or `none` */
};

#define POLICY_ZK_READ 0x1     /* MSG_ZK_GET, MSG_ZK_CHILDREN */
#define POLICY_ZK_WRITE 0x2    /* MSG_ZK_WRITE */
#define POLICY_ZK_TREE 0x4     /* the path and everything below it (read rules) */
#define POLICY_ZK_NODELETE 0x8 /* set and create only */
#define POLICY_ZK_DENY 0x10    /* a refusal: checked before every allowing row */

struct policy_zk_rule {
	/* absolute path; a component "<uuid>" matches a canonical UUID, "<node>" a node
	 * name (including `none`, as zk-election's validator), "<any>" any component,
	 * "<name>" a Ceph pool name or OSD id ([A-Za-z0-9_.-]{1,63}, no leading dot);
	 * a component ending in '*' any component that starts with the rest ("ipmi*").
	 * With POLICY_ZK_TREE the path and everything below it. */
	const char *pattern;
	unsigned flags;        /* POLICY_ZK_* */
	uint32_t roles;        /* bitmask of roles */
	uint32_t self_roles;   /* of those, the ones limited to <node> == this node */
	enum policy_zk_value value;
};

extern const struct policy_zk_rule policy_zk_rules[];
extern const size_t policy_nzk_rules;

/*
 * The rule that lets `role` read (access POLICY_ZK_READ) or write (POLICY_ZK_WRITE)
 * `path`, or NULL (also when a POLICY_ZK_DENY row matches: a refusal is never
 * returned). `self` is this node's name (NULL: no self-only rule applies).
 * The path itself is not validated here: the caller checks its syntax first.
 */
const struct policy_zk_rule *policy_zk_lookup(unsigned access, enum pvc_role role,
					      const char *self, const char *path);

#endif
