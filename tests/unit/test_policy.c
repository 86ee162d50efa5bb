/*
 * test_policy.c: the routing table and the ZooKeeper path table (lib/policy.c),
 * enumerated: every message type is routed or supervisor-only, no row twice,
 * every path pattern well-formed, and a few decisions pinned down as they are
 * (among them: no requester reads or writes a node's BMC credentials, issue #16).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ipc.h"
#include "policy.h"
#include "zk_values.h"

#define R(x) POLICY_ROLE(x)
#define ALL_ROLES ((1u << ROLE_COUNT) - 1)
/* every role but the supervisor and zk-election itself (which reads ZooKeeper directly) */
#define REQUESTERS                                                                   \
	(R(ROLE_VM) | R(ROLE_NET) | R(ROLE_FLUSH) | R(ROLE_FENCE) | R(ROLE_API) | R(ROLE_DNS) | \
	 R(ROLE_META) | R(ROLE_CEPH) | R(ROLE_CTL))

static int is_sup_type(uint32_t type)
{
	for (size_t i = 0; i < policy_nsup_types; i++)
		if (policy_sup_types[i] == type)
			return 1;
	return 0;
}

static void test_every_type_routed(void **state)
{
	(void)state;
	for (uint32_t t = MSG_NONE + 1; t < MSG_COUNT; t++) {
		int routes = 0;
		for (size_t i = 0; i < policy_nroutes; i++)
			if (policy_routes[i].type == t)
				routes++;
		if (routes == 0 && !is_sup_type(t))
			fail_msg("%s has no route and is not supervisor-only", ipc_type_name(t));
	}
}

static void test_routes_well_formed(void **state)
{
	(void)state;
	for (size_t i = 0; i < policy_nroutes; i++) {
		const struct policy_route *r = &policy_routes[i];
		assert_true(r->type > MSG_NONE && r->type < MSG_COUNT);
		assert_int_not_equal(r->from, 0);
		assert_int_not_equal(r->to, 0);
		assert_int_equal(r->from & ~ALL_ROLES, 0);
		assert_int_equal(r->to & ~ALL_ROLES, 0);
		/* nobody talks to itself through the supervisor */
		assert_int_equal(r->from & r->to, 0);
		if (is_sup_type(r->type) && !((r->from | r->to) & R(ROLE_SUPERVISOR)))
			fail_msg("%s is supervisor-only but routed between others",
				 ipc_type_name(r->type));
		for (size_t j = i + 1; j < policy_nroutes; j++) {
			const struct policy_route *o = &policy_routes[j];
			/* a second row for the same type must not grant a pair twice */
			if (o->type == r->type && (o->from & r->from) && (o->to & r->to))
				fail_msg("%s: rows %zu and %zu overlap", ipc_type_name(r->type), i, j);
		}
	}
	for (size_t i = 0; i < policy_nsup_types; i++)
		for (size_t j = i + 1; j < policy_nsup_types; j++)
			assert_int_not_equal(policy_sup_types[i], policy_sup_types[j]);
}

static void test_routes_known(void **state)
{
	(void)state;
	assert_true(policy_allowed(MSG_NET_TAKEOVER, ROLE_ZK, ROLE_NET));
	assert_false(policy_allowed(MSG_NET_TAKEOVER, ROLE_VM, ROLE_NET));
	assert_false(policy_allowed(MSG_NET_TAKEOVER, ROLE_CTL, ROLE_NET));
	assert_true(policy_allowed(MSG_ZK_WRITE, ROLE_CTL, ROLE_ZK));
	assert_false(policy_allowed(MSG_ZK_WRITE, ROLE_NET, ROLE_ZK));
	/* only vm-manager asks the supervisor for console log descriptors */
	assert_true(policy_allowed(MSG_VM_CONSOLE_OPEN, ROLE_VM, ROLE_SUPERVISOR));
	assert_false(policy_allowed(MSG_VM_CONSOLE_OPEN, ROLE_NET, ROLE_SUPERVISOR));
	assert_false(policy_allowed(MSG_VM_CONSOLE_OPEN, ROLE_CTL, ROLE_SUPERVISOR));
	assert_false(policy_allowed(MSG_VM_CONSOLE_FD, ROLE_VM, ROLE_ZK));
	assert_true(policy_allowed(MSG_VM_CONSOLE_FD, ROLE_SUPERVISOR, ROLE_VM));
	/* the client networks: net-router and the DNS aggregator, from zk-election only */
	assert_true(policy_allowed(MSG_NET_NETWORKS, ROLE_ZK, ROLE_NET));
	assert_true(policy_allowed(MSG_NET_NETWORKS, ROLE_ZK, ROLE_DNS));
	assert_false(policy_allowed(MSG_NET_NETWORKS, ROLE_ZK, ROLE_API));
	assert_false(policy_allowed(MSG_NET_NETWORKS, ROLE_DNS, ROLE_NET));
	assert_false(policy_allowed(MSG_NET_NETWORKS, ROLE_NET, ROLE_DNS));
	assert_false(policy_allowed(MSG_ZK_WRITE, ROLE_DNS, ROLE_ZK));
	assert_false(policy_allowed(MSG_ZK_WRITE, ROLE_CTL, ROLE_VM));
	assert_true(policy_allowed(MSG_FENCE_REQ, ROLE_ZK, ROLE_FENCE));
	assert_false(policy_allowed(MSG_FENCE_REQ, ROLE_CTL, ROLE_FENCE));
	assert_true(policy_allowed(MSG_ZK_SESSION, ROLE_SUPERVISOR, ROLE_ZK));
	assert_true(policy_allowed(MSG_ZK_SESSION, ROLE_ZK, ROLE_SUPERVISOR));
	assert_false(policy_allowed(MSG_ZK_SESSION, ROLE_VM, ROLE_SUPERVISOR));
	assert_false(policy_allowed(MSG_CONFIG, ROLE_ZK, ROLE_VM));
	assert_false(policy_allowed(MSG_PING, ROLE_SUPERVISOR, ROLE_CTL));
	assert_false(policy_allowed(MSG_CTL_STATUS, ROLE_CTL, ROLE_COUNT));
	assert_false(policy_allowed(MSG_COUNT, ROLE_ZK, ROLE_SUPERVISOR));
}

/* The pattern with placeholders filled in is a path zk-election accepts. */
static void pattern_sample(const char *pattern, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = pattern; *p && o + 40 < size;) {
		if (strncmp(p, "<uuid>", 6) == 0) {
			o += (size_t)snprintf(out + o, size - o, "0a1b2c3d-0000-4000-8000-00000000000f");
			p += 6;
		} else if (strncmp(p, "<node>", 6) == 0) {
			o += (size_t)snprintf(out + o, size - o, "hv1");
			p += 6;
		} else if (strncmp(p, "<name>", 6) == 0) {
			o += (size_t)snprintf(out + o, size - o, "vms");
			p += 6;
		} else if (strncmp(p, "<any>", 5) == 0) {
			o += (size_t)snprintf(out + o, size - o, "not:a-node");
			p += 5;
		} else if (*p == '*') {
			o += (size_t)snprintf(out + o, size - o, "password");
			p++;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
}

/* A refusal row: for every requester, never with a value kind nor a self limit. */
static void deny_row_check(const struct policy_zk_rule *r, unsigned acc, const char *sample)
{
	assert_int_equal(r->roles, REQUESTERS);
	assert_int_equal(r->self_roles, 0);
	assert_int_equal(r->value, POLICY_ZV_NONE);
	assert_int_equal(r->flags & POLICY_ZK_NODELETE, 0);
	for (int role = 0; role < ROLE_COUNT; role++)
		assert_null(policy_zk_lookup(acc, (enum pvc_role)role, "hv1", sample));
}

static void allow_row_check(const struct policy_zk_rule *r, unsigned acc, const char *sample)
{
	/* nobody but a requester: the supervisor and the workers that never ask */
	assert_int_equal(r->roles & (R(ROLE_SUPERVISOR) | R(ROLE_ZK) | R(ROLE_NET) |
				     R(ROLE_FENCE)), 0);
	assert_int_equal(r->self_roles & ~r->roles, 0);
	if (r->self_roles)
		assert_non_null(strstr(r->pattern, "<node>"));
	assert_null(strchr(r->pattern, '*'));
	if (acc == POLICY_ZK_READ && r->roles == R(ROLE_META)) {
		/* the metadata API's reads: exact keys (placeholders allowed), never a tree */
		assert_int_equal(r->value, POLICY_ZV_NONE);
		assert_int_equal(r->flags & (POLICY_ZK_NODELETE | POLICY_ZK_TREE), 0);
	} else if (acc == POLICY_ZK_READ) {
		assert_null(strstr(r->pattern, "<any>"));
		assert_int_equal(r->value, POLICY_ZV_NONE);
		assert_int_equal(r->flags & POLICY_ZK_NODELETE, 0);
		assert_null(strchr(r->pattern, '<'));
	} else {
		assert_null(strstr(r->pattern, "<any>"));
		assert_int_not_equal(r->value, POLICY_ZV_NONE);
		assert_int_equal(r->flags & POLICY_ZK_TREE, 0);
	}
	/* the rule finds itself */
	for (int role = 0; role < ROLE_COUNT; role++)
		if (r->roles & R(role))
			assert_non_null(policy_zk_lookup(acc, (enum pvc_role)role, "hv1", sample));
}

/* The metadata API reads exactly what maps a client IP to its VM, and writes nothing. */
static void test_zk_meta_reads(void **state)
{
	static const char *const ok[] = {
		"/networks", "/networks/100/dhcp4_leases",
		"/networks/100/dhcp4_leases/52:54:00:aa:bb:cc/ipaddr", "/domains",
		"/domains/0a1b2c3d-0000-4000-8000-00000000000f",
		"/domains/0a1b2c3d-0000-4000-8000-00000000000f/profile",
		"/domains/0a1b2c3d-0000-4000-8000-00000000000f/xml"};
	static const char *const no[] = {
		"/nodes", "/primary_node", "/networks/100", "/networks/100/dhcp4_leases/x",
		"/networks/100/dhcp4_leases/x/hostname", "/networks/100/dhcp4_reservations",
		"/domains/0a1b2c3d-0000-4000-8000-00000000000f/state", "/domains/not-a-uuid/xml",
		"/domains/0a1b2c3d-0000-4000-8000-00000000000f/xml/x", "/cmd", "/locks"};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (policy_zk_lookup(POLICY_ZK_READ, ROLE_META, "hv1", ok[i]) == NULL)
			fail_msg("metadata may not read %s", ok[i]);
		assert_null(policy_zk_lookup(POLICY_ZK_WRITE, ROLE_META, "hv1", ok[i]));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (policy_zk_lookup(POLICY_ZK_READ, ROLE_META, "hv1", no[i]) != NULL)
			fail_msg("metadata may read %s", no[i]);
	assert_true(policy_allowed(MSG_META_LISTEN_OPEN, ROLE_META, ROLE_SUPERVISOR));
	assert_false(policy_allowed(MSG_META_LISTEN_OPEN, ROLE_VM, ROLE_SUPERVISOR));
	assert_true(policy_allowed(MSG_META_LISTEN_FD, ROLE_SUPERVISOR, ROLE_META));
	assert_false(policy_allowed(MSG_ZK_WRITE, ROLE_META, ROLE_ZK));
}

static void test_zk_rules_well_formed(void **state)
{
	char sample[256];

	(void)state;
	for (size_t i = 0; i < policy_nzk_rules; i++) {
		const struct policy_zk_rule *r = &policy_zk_rules[i];
		unsigned acc = r->flags & (POLICY_ZK_READ | POLICY_ZK_WRITE);
		const char *lt = strchr(r->pattern, '<');

		assert_non_null(r->pattern);
		/* exactly one kind of access per row */
		assert_true(acc == POLICY_ZK_READ || acc == POLICY_ZK_WRITE);
		assert_int_not_equal(r->roles, 0);
		assert_int_equal(r->roles & ~ALL_ROLES, 0);
		/* placeholders are whole components and only the known ones */
		for (; lt; lt = strchr(lt + 1, '<')) {
			size_t len = strncmp(lt, "<any>", 5) == 0 ? 5 : 6;
			assert_true(lt[-1] == '/');
			assert_true(len == 5 || strncmp(lt, "<uuid>", 6) == 0 ||
				    strncmp(lt, "<node>", 6) == 0 || strncmp(lt, "<name>", 6) == 0);
			assert_true(lt[len] == '/' || lt[len] == '\0');
		}
		/* a '*' only ends a component */
		for (const char *st = strchr(r->pattern, '*'); st; st = strchr(st + 1, '*'))
			assert_true(st[1] == '/' || st[1] == '\0');
		pattern_sample(r->pattern, sample, sizeof(sample));
		if (!zk_values_path(sample))
			fail_msg("rule %zu: %s is not a well-formed path", i, r->pattern);
		if (r->flags & POLICY_ZK_DENY)
			deny_row_check(r, acc, sample);
		else
			allow_row_check(r, acc, sample);
		for (size_t j = i + 1; j < policy_nzk_rules; j++) {
			const struct policy_zk_rule *o = &policy_zk_rules[j];
			/* the same key exactly and as a tree (metadata's "/domains" beside
			 * the others' "/domains/...") are two rules */
			if (strcmp(o->pattern, r->pattern) == 0 && (o->flags & acc) &&
			    (o->flags & POLICY_ZK_DENY) == (r->flags & POLICY_ZK_DENY) &&
			    (o->flags & POLICY_ZK_TREE) == (r->flags & POLICY_ZK_TREE))
				fail_msg("rules %zu and %zu: %s twice", i, j, r->pattern);
		}
	}
}

/*
 * Issue #16: the BMC credentials of every node are zk-election's alone (it hands
 * them to the fence worker in a FENCE_REQ). No role may read or write them through
 * the request API, whatever the node's name, nor anything below them; the node's
 * directory itself stays listable.
 */
static void test_zk_ipmi_denied(void **state)
{
	static const char *const keys[] = {"ipmihostname", "ipmiusername", "ipmipassword"};
	static const char *const nodes[] = {"hv1", "hv2", "none", "Node_3.x", "not:a-node"};
	static const char *const ops[] = {"set", "create", "delete", "setv:0"};
	char p[128];
	int v;

	(void)state;
	for (int role = 0; role < ROLE_COUNT; role++) {
		for (size_t n = 0; n < sizeof(nodes) / sizeof(nodes[0]); n++) {
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				for (int below = 0; below < 2; below++) {
					snprintf(p, sizeof(p), "/nodes/%s/%s%s", nodes[n], keys[k],
						 below ? "/x" : "");
					if (zk_values_policy_read(role, p))
						fail_msg("role %d may read %s", role, p);
					if (policy_zk_lookup(POLICY_ZK_READ, (enum pvc_role)role,
							     nodes[n], p) != NULL)
						fail_msg("role %d (self %s) may read %s", role,
							 nodes[n], p);
					for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
						if (zk_values_policy_write(role, nodes[n], ops[o], p,
									   o == 2 ? "" : "x", &v))
							fail_msg("role %d may %s %s", role, ops[o], p);
				}
			}
		}
	}
	/* what the roles need of /nodes stays readable */
	assert_true(zk_values_policy_read(ROLE_VM, "/nodes"));
	assert_true(zk_values_policy_read(ROLE_FLUSH, "/nodes/hv2"));
	assert_true(zk_values_policy_read(ROLE_CTL, "/nodes/hv2"));
	assert_true(zk_values_policy_read(ROLE_FLUSH, "/nodes/hv2/domainstate"));
	assert_true(zk_values_policy_read(ROLE_VM, "/nodes/hv2/runningdomains"));
	assert_true(zk_values_policy_read(ROLE_CTL, "/nodes/hv2/ipm"));
	assert_true(zk_values_policy_read(ROLE_CTL, "/nodes/hv2/xipmipassword"));
}

static void test_zk_known(void **state)
{
	const char *u = "/domains/0a1b2c3d-0000-4000-8000-00000000000f";
	char p[128];
	int v;

	(void)state;
	/* Reads of /nodes are a whole tree except the BMC credentials (issue #16; all of
	 * them: test_zk_ipmi_denied) */
	assert_false(zk_values_policy_read(ROLE_VM, "/nodes/hv2/ipmipassword"));
	assert_false(zk_values_policy_read(ROLE_FLUSH, "/nodes/hv2/ipmipassword"));
	assert_false(zk_values_policy_read(ROLE_CTL, "/nodes/hv2/ipmipassword"));
	assert_false(zk_values_policy_read(ROLE_NET, "/nodes/hv2/ipmipassword"));
	assert_false(zk_values_policy_read(ROLE_FENCE, "/nodes"));
	assert_false(zk_values_policy_read(ROLE_CTL, "/locks"));
	assert_false(zk_values_policy_read(ROLE_CTL, "/cmd/domains"));
	assert_false(zk_values_policy_read(ROLE_CTL, "/primary_node/x"));
	assert_true(zk_values_policy_read(ROLE_CTL, "/networks/100/ip4_network"));
	/* writes */
	assert_false(zk_values_policy_write(ROLE_VM, "hv1", "set", "/nodes/hv1/ipmipassword", "x",
					    &v));
	assert_false(zk_values_policy_write(ROLE_CTL, "hv1", "set", "/nodes/hv1/routerstate",
					    "primary", &v));
	assert_true(zk_values_policy_write(ROLE_CTL, "hv1", "set", "/nodes/none/domainstate",
					   "flush", &v));
	snprintf(p, sizeof(p), "%s/state", u);
	assert_true(zk_values_policy_write(ROLE_FLUSH, "hv1", "delete", p, "", &v));
	assert_false(zk_values_policy_write(ROLE_CTL, "hv1", "set", p, "start", &v));
	snprintf(p, sizeof(p), "%s/state/x", u);
	assert_false(zk_values_policy_write(ROLE_VM, "hv1", "set", p, "start", &v));
	/* self-only rows need to know who we are */
	assert_null(policy_zk_lookup(POLICY_ZK_WRITE, ROLE_FLUSH, NULL, "/nodes/hv1/domainstate"));
	assert_non_null(policy_zk_lookup(POLICY_ZK_WRITE, ROLE_CTL, NULL, "/nodes/hv1/domainstate"));
	assert_null(policy_zk_lookup(POLICY_ZK_WRITE, ROLE_FLUSH, "hv1", "/nodes/hv2/runningdomains"));
	assert_null(policy_zk_lookup(POLICY_ZK_READ, ROLE_COUNT, NULL, "/nodes"));
	/* ceph: its statistics only, names checked */
	assert_true(zk_values_policy_write(ROLE_CEPH, "hv1", "set", "/ceph", "HEALTH_OK", &v));
	assert_true(zk_values_policy_write(ROLE_CEPH, "hv1", "set", "/ceph/pools/vms/stats", "{}",
					   &v));
	assert_true(zk_values_policy_write(ROLE_CEPH, "hv1", "set", "/ceph/osds/0/stats", "{}", &v));
	assert_false(zk_values_policy_write(ROLE_CEPH, "hv1", "set", "/ceph/osds/0/node", "hv1", &v));
	assert_false(zk_values_policy_write(ROLE_CEPH, "hv1", "set", "/ceph/osds/../stats", "x", &v));
	assert_false(zk_values_policy_write(ROLE_CEPH, "hv1", "set", "/ceph/pools/.x/stats", "x", &v));
	assert_false(zk_values_policy_write(ROLE_CEPH, "hv1", "delete", "/ceph/radosdf", "", &v));
	assert_false(zk_values_policy_write(ROLE_CEPH, "hv1", "set", "/domains", "x", &v));
	assert_false(zk_values_policy_write(ROLE_VM, "hv1", "set", "/ceph", "x", &v));
	assert_non_null(policy_zk_lookup(POLICY_ZK_READ, ROLE_CEPH, NULL, "/ceph/osds/3/node"));
	assert_null(policy_zk_lookup(POLICY_ZK_READ, ROLE_CEPH, NULL, "/nodes/hv1/ipmipassword"));
	assert_null(policy_zk_lookup(POLICY_ZK_READ, ROLE_CEPH, NULL, "/cmd/ceph"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_routed),
		cmocka_unit_test(test_routes_well_formed),
		cmocka_unit_test(test_routes_known),
		cmocka_unit_test(test_zk_rules_well_formed),
		cmocka_unit_test(test_zk_meta_reads),
		cmocka_unit_test(test_zk_known),
		cmocka_unit_test(test_zk_ipmi_denied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
