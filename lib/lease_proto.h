/*
 * lease_proto.h: the protocol between the DHCP lease helper (tools/pvc-dhcp-lease,
 * run by dnsmasq as --dhcp-script) and net-router's lease socket (issue #9).
 *
 * Transport: AF_UNIX SOCK_STREAM at <dynamic_directory>/dnsmasq/lease.sock,
 * created by net-router; the helper finds it in env PVC_LEASE_SOCKET. One request
 * per connection.
 *
 * Request, ONE line of at most LEASE_LINE_MAX bytes including the newline:
 *   <action>\t<vni>\t<mac>\t<ip>\t<hostname>\t<expiry>\t<clientid>\n
 *   action    add | old | del | init
 *   vni       decimal 1..16777215
 *   mac       lower-case aa:bb:cc:dd:ee:ff      (empty for init)
 *   ip        dotted IPv4 address               (empty for init)
 *   hostname  [A-Za-z0-9._-]{0,63}, may be empty (empty for init)
 *   expiry    decimal uint64, 0 = infinite      (add/old; optional for del; empty for init)
 *   clientid  hex digits and ':' or "*"         (add/old; optional for del; empty for init)
 * No field contains a tab, newline or NUL.
 *
 * Reply: a status line "<rc>\t<message>\n" (rc 0 = ok, otherwise a negative number,
 * the ZooKeeper error code or LEASE_RC_*; message human-readable, one line), then
 * for init zero or more dnsmasq lease-file lines
 *   <expiry> <mac> <ip> <hostname or *> <clientid or *>\n
 * and the server closes the connection.
 *
 * Everything here is pure (no I/O): unit-tested (tests/unit/test_lease_proto.c) and
 * fuzzed (fuzz/fuzz_lease.c).
 */
#ifndef LEASE_PROTO_H
#define LEASE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define LEASE_LINE_MAX 1024
#define LEASE_CLIENTID_MAX 800 /* 255-byte DHCP client id as hex with colons, + NUL */
#define LEASE_RC_REFUSED -1000  /* not primary, unknown network, invalid request */

enum lease_action { LEASE_ADD, LEASE_OLD, LEASE_DEL, LEASE_INIT };

struct lease_req {
	enum lease_action action;
	uint32_t vni;
	char mac[18];
	char ip[16];
	char hostname[64];
	int has_expiry; /* del may omit expiry and client id */
	uint64_t expiry;
	char clientid[LEASE_CLIENTID_MAX];
};

/* Field validators: 1 valid, 0 not (NULL is never valid). */
int lease_valid_mac(const char *s);      /* lower-case colon form */
int lease_valid_ip4(const char *s);      /* dotted quad, inet_pton rules */
int lease_valid_hostname(const char *s); /* [A-Za-z0-9._-]{0,63}, as dnsmasq allows */
int lease_valid_clientid(const char *s); /* "*" or [0-9a-fA-F:]+ */
int lease_parse_expiry(const char *s, uint64_t *out); /* 0 / -1 */
int lease_parse_vni(const char *s, uint32_t *out);    /* 0 / -1 */
int lease_parse_action(const char *s);                /* enum or -1 */
const char *lease_action_name(enum lease_action a);

/* Build a request from its 7 text fields (action, vni, mac, ip, hostname, expiry,
 * clientid), as they come in a line or in MSG_NET_LEASE_EVENT. 0, or -1 with
 * `err` naming the field. */
int lease_req_from_fields(const char *const f[7], struct lease_req *r, char *err,
			  size_t errlen);
/* Parse one request line (buf[0..len), the trailing '\n' optional). */
int lease_req_parse(const char *buf, size_t len, struct lease_req *r, char *err,
		    size_t errlen);
/* Format a request line with its '\n'; returns its length, or -1 if `r` is
 * invalid or does not fit. */
int lease_req_format(const struct lease_req *r, char *buf, size_t len);

/* Status line: returns the length written (with '\n') or -1. Tabs and control
 * bytes in `msg` are replaced by blanks. */
int lease_reply_format_status(int rc, const char *msg, char *buf, size_t len);
/* Parse the status line at the start of buf[0..len): 0 with *rc, msg and
 * *consumed (bytes up to and including the '\n'), or -1 if malformed or
 * incomplete. */
int lease_reply_parse_status(const char *buf, size_t len, int *rc, char *msg, size_t msglen,
			     size_t *consumed);

/* A dnsmasq lease line (no '\n'): format returns its length or -1; valid 1/0. */
int lease_line_format(uint64_t expiry, const char *mac, const char *ip, const char *hostname,
		      const char *clientid, char *buf, size_t len);
int lease_line_valid(const char *line, size_t len);

#endif
