/*
 * netdef.h: a client network's definition as zk-election reads it from
 * /networks/<vni> and sends it to net-router in MSG_NET_NETWORKS (issue #9).
 *
 * One codec and one validator for both sides: zk-election builds a struct netdef
 * from the ZooKeeper keys (netdef_set_key) and validates it before it is sent;
 * net-router decodes the frame (netdef_decode), which validates again because
 * IPC bytes are untrusted too. Every function here is pure (no I/O, no globals),
 * unit-tested (tests/unit/test_netdef.c) and fuzzed (fuzz/fuzz_netdef.c).
 *
 * Wire format (MSG_NET_NETWORKS, STRV): the complete set of valid networks,
 * replacing the previous one. A record starts with the string "vni=<n>"; the
 * strings after it, up to the next "vni=", are "key=value" (value may contain
 * spaces, never NUL):
 *   type=managed|bridged      desc=<text>            domain=<dns domain or "">
 *   ns=<a,b,...>              (name servers, already cleaned of list-repr quoting)
 *   net4=<a.b.c.d/p|None>     gw4=<a.b.c.d|None>     dhcp4=True|False
 *   dhcp4_start=<addr|None>   dhcp4_end=<addr|None>
 *   net6=<addr/p|None>        gw6=<addr|None>        dhcp6=True|False
 *   res=<mac>,<ip>,<hostname>             (repeated; hostname may be empty)
 *   acl_in=<order>\t<description>\t<rule> (repeated, numerically by order)
 *   acl_out=...                            (same)
 * Unknown keys are an error (the two sides are built together).
 */
#ifndef NETDEF_H
#define NETDEF_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define NETDEF_VNI_MAX 16777215u /* 24-bit VXLAN id; VLAN ids are further limited to 1..4094 */
#define NETDEF_TEXT 256
#define NETDEF_RULE 1024
#define NETDEF_MAX_RES 4096
#define NETDEF_MAX_ACL 1024
#define NETDEF_MAX_NETWORKS 4096

struct netdef_addr {
	int set;          /* 0: None */
	int family;       /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	int prefix;       /* -1 when the text had none (gateways, range ends) */
	char text[64];    /* canonical text, with "/prefix" when prefix >= 0 */
};

struct netdef_res {
	char mac[18];             /* lower-case aa:bb:cc:dd:ee:ff */
	struct netdef_addr ip;    /* IPv4, no prefix */
	char hostname[64];        /* may be empty */
};

struct netdef_acl {
	long order;
	char desc[NETDEF_TEXT];
	char rule[NETDEF_RULE];   /* nftables rule fragment, verbatim (validated for
				   * printable characters and no ';' / newline only) */
};

struct netdef {
	uint32_t vni;
	int managed;              /* 1 managed (VXLAN), 0 bridged (VLAN) */
	char desc[NETDEF_TEXT];
	char domain[NETDEF_TEXT];
	char ns[NETDEF_TEXT];
	struct netdef_addr net4, gw4, dhcp4_start, dhcp4_end;
	int dhcp4;
	struct netdef_addr net6, gw6;
	int dhcp6;
	struct netdef_res *res;   /* heap */
	size_t nres;
	struct netdef_acl *acl_in, *acl_out; /* heap, sorted by order */
	size_t nacl_in, nacl_out;
};

/* A zeroed definition for `vni` (all addresses None, flags False). */
void netdef_init(struct netdef *d, uint32_t vni);
void netdef_clear(struct netdef *d); /* frees the arrays, keeps nothing */

/*
 * zk-election side: apply one ZooKeeper key of /networks/<vni>. `key` is the
 * path below the network ("nettype", "ip4_gateway", ...; "" for the
 * description in the network's own data), `value` the raw untrusted data.
 * Reservations and ACLs are added with netdef_add_res / netdef_add_acl.
 * Returns 0, or -1 with `err` naming the key and what was wrong.
 */
int netdef_set_key(struct netdef *d, const char *key, const char *value, char *err,
		   size_t errlen);
int netdef_add_res(struct netdef *d, const char *mac, const char *ipaddr,
		   const char *hostname, char *err, size_t errlen);
int netdef_add_acl(struct netdef *d, int out, const char *desc, const char *order,
		   const char *rule, char *err, size_t errlen);

/* Whole-definition checks: VNI range (VLAN 1..4094 for bridged), gateways inside
 * their networks, DHCP range inside net4 and ordered, a managed network with DHCP
 * has a gateway, reservations inside net4. Sorts the ACLs. */
int netdef_validate(struct netdef *d, char *err, size_t errlen);

/* Append `d` to a STRV being built (strvb_*, ipc.h). Returns 0 or -1. */
int netdef_encode(const struct netdef *d, struct ipc_strv_buf *b);

/* net-router side: decode and validate a whole MSG_NET_NETWORKS payload into a
 * heap array (*out, *n; netdef_free_all to release). A record that fails is
 * skipped and reported through `skip` (may be NULL) with the reason; a payload
 * that is not a sequence of records at all returns -1. */
int netdef_decode(const struct ipc_strv *sv, struct netdef **out, size_t *n,
		  void (*skip)(uint32_t vni, const char *why, void *arg), void *arg);
void netdef_free_all(struct netdef *defs, size_t n);

/* Interface names of a network: "vmbr<vni>", "vxlan<vni>" or "vlan<vni>"
 * (IFNAMSIZ-safe for every valid VNI). */
void netdef_ifnames(const struct netdef *d, char bridge[16], char link[16]);

#endif
