/*
 * dns_axfr.h: a small AXFR client (RFC 5936) for the dns-aggregator: it pulls each
 * managed network's zone from the dnsmasq of that network (--auth-zone, which
 * allows transfers from --auth-peer, the gateway address we connect from).
 *
 * The bytes come from dnsmasq, which serves DHCP clients' chosen host names: they
 * are untrusted. The parser (dns_axfr_parse_msg) is pure, unit-tested
 * (tests/unit/test_dns_axfr.c) and fuzzed (fuzz/fuzz_dns_axfr.c): names are
 * decompressed only through pointers to strictly earlier offsets (no loops),
 * kept to 255 bytes and to host-name characters, and record data is formatted
 * as PowerDNS stores it (content column) or the record is skipped.
 */
#ifndef DNS_AXFR_H
#define DNS_AXFR_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 256   /* presentation form, no trailing dot, NUL included */
#define DNS_CONTENT_MAX 1024

enum {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
	DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_AXFR = 252,
};

struct dns_rr {
	char name[DNS_NAME_MAX];       /* lower-case, no trailing dot */
	uint16_t type;
	uint32_t ttl;
	char content[DNS_CONTENT_MAX]; /* PowerDNS content text */
};

struct dns_zone {
	struct dns_rr *rr;
	size_t n, cap;
	size_t skipped;   /* records of other types or with unusable names/data */
	uint32_t serial;  /* of the SOA that opened the transfer */
};

/* The type's name ("A", "AAAA", ...) or NULL for a type we do not store. */
const char *dns_axfr_type_name(uint16_t type);

/* Build the AXFR query for `zone` with message id `id`, with the 2-byte TCP length
 * prefix, into buf. Returns its length, or -1 (name invalid or too long for cap). */
int dns_axfr_query(const char *zone, uint16_t id, uint8_t *buf, size_t cap);

/*
 * Parse one response message (without the TCP length prefix) of the transfer of
 * `zone` queried with `id`. Records are appended to z (first message: the first
 * record must be the zone's SOA). Returns 1 when the transfer is complete (the
 * closing SOA was in this message), 0 when more messages follow, -1 with err on a
 * malformed or refused answer.
 */
int dns_axfr_parse_msg(const uint8_t *msg, size_t len, uint16_t id, const char *zone,
		       struct dns_zone *z, char *err, size_t errlen);

/* A network's domain as a zone name: lower-case, without trailing dots ("Net.Test."
 * and "net.test" are one zone; the AXFR answer's owner names carry no dot). 0, or -1
 * if nothing is left or it does not fit in cap. */
int dns_axfr_zone_name(const char *domain, char *out, size_t cap);

/* Whether `name` is `zone` or below it (both lower-case, no trailing dot). */
int dns_axfr_in_zone(const char *name, const char *zone);

void dns_axfr_zone_free(struct dns_zone *z);

/* The whole transfer over TCP from server:53 (IPv4 or IPv6 literal), bounded by
 * timeout_ms. 0 with z filled, or -1 with err. */
int dns_axfr_fetch(const char *server, const char *zone, int timeout_ms, struct dns_zone *z,
		   char *err, size_t errlen);

#endif
