/*
 * axfr.c: the AXFR message parser and query builder (dns_axfr.h). Pure: no I/O.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_axfr.h"

#define AXFR_MAX_RECORDS 65536 /* a zone of DHCP leases is far smaller */

struct rd {
	const uint8_t *m;
	size_t len;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *dns_axfr_type_name(uint16_t type)
{
	switch (type) {
	case DNS_T_A: return "A";
	case DNS_T_NS: return "NS";
	case DNS_T_CNAME: return "CNAME";
	case DNS_T_SOA: return "SOA";
	case DNS_T_PTR: return "PTR";
	case DNS_T_MX: return "MX";
	case DNS_T_TXT: return "TXT";
	case DNS_T_AAAA: return "AAAA";
	case DNS_T_SRV: return "SRV";
	default: return NULL;
	}
}

static int label_char_ok(uint8_t c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '*';
}

/*
 * Decompress the name at *off into out (presentation, lower-case, no trailing
 * dot; the root is ""). A pointer must go strictly backwards from the label that
 * holds it, so a chain ends. *off moves past the name as stored at *off.
 * Returns 0, 1 when the name is well-formed but has a character PowerDNS would
 * need escaped (the record is skipped), -1 when malformed.
 */
static int name_read(const struct rd *r, size_t *off, char *out, size_t cap)
{
	size_t pos = *off, o = 0, limit = r->len;
	int jumped = 0, odd = 0;

	for (;;) {
		if (pos >= limit)
			return -1;
		uint8_t l = r->m[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= limit)
				return -1;
			size_t to = ((size_t)(l & 0x3f) << 8) | r->m[pos + 1];
			if (!jumped)
				*off = pos + 2;
			if (to >= pos)
				return -1; /* forward or self pointer: could loop */
			jumped = 1;
			limit = pos; /* later labels must stay before this pointer */
			pos = to;
			continue;
		}
		if (l & 0xc0)
			return -1; /* extended label types: never in a zone transfer */
		if (l == 0) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if (pos + 1 + l > limit || o + l + 2 > cap || o + l + 1 > 254)
			return -1;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = r->m[pos + 1 + i];
			odd |= !label_char_ok(c);
			out[o++] = (char)tolower(c);
		}
		pos += 1 + (size_t)l;
	}
	out[o] = '\0';
	return odd ? 1 : 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* TXT: each character-string quoted; only printable ASCII without '"' and '\\'
 * (anything else: skipped). */
static int txt_format(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	while (i < n) {
		size_t l = p[i++];
		if (i + l > n || o + l + 4 > cap)
			return 1;
		if (o)
			out[o++] = ' ';
		out[o++] = '"';
		for (size_t k = 0; k < l; k++) {
			uint8_t c = p[i + k];
			if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
				return 1;
			out[o++] = (char)c;
		}
		out[o++] = '"';
		i += l;
	}
	out[o] = '\0';
	return 0;
}

/* A name inside rdata at *off, which must end by `end`. */
static int rdata_name(const struct rd *r, size_t *off, size_t end, char *out, size_t cap)
{
	int rc = name_read(r, off, out, cap);

	if (rc < 0 || *off > end)
		return -1;
	return rc;
}

/* SOA rdata -> "mname rname serial refresh retry expire minimum". */
static int soa_format(const struct rd *r, size_t off, size_t end, struct dns_rr *rr,
		      uint32_t *serial)
{
	char mname[DNS_NAME_MAX], rname[DNS_NAME_MAX];
	int a = rdata_name(r, &off, end, mname, sizeof mname);
	int b = a < 0 ? -1 : rdata_name(r, &off, end, rname, sizeof rname);

	if (a < 0 || b < 0 || off + 20 != end)
		return -1;
	*serial = get32(r->m + off);
	snprintf(rr->content, sizeof rr->content, "%s %s %u %u %u %u %u", mname, rname,
		 get32(r->m + off), get32(r->m + off + 4), get32(r->m + off + 8),
		 get32(r->m + off + 12), get32(r->m + off + 16));
	return a | b;
}

/* The record's data as PowerDNS content. 0 ok, 1 skip, -1 malformed. */
static int rdata_format(const struct rd *r, size_t off, size_t rdlen, struct dns_rr *rr,
			uint32_t *serial)
{
	size_t end = off + rdlen;
	char name[DNS_NAME_MAX];
	int rc;

	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		size_t want = rr->type == DNS_T_A ? 4 : 16;
		if (rdlen != want)
			return -1;
		if (inet_ntop(rr->type == DNS_T_A ? AF_INET : AF_INET6, r->m + off, rr->content,
			      sizeof rr->content) == NULL)
			return -1;
		return 0;
	}
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		rc = rdata_name(r, &off, end, name, sizeof name);
		if (rc < 0 || off != end)
			return -1;
		snprintf(rr->content, sizeof rr->content, "%s", name);
		return rc;
	case DNS_T_MX:
		if (rdlen < 3)
			return -1;
		off += 2;
		rc = rdata_name(r, &off, end, name, sizeof name);
		if (rc < 0 || off != end)
			return -1;
		snprintf(rr->content, sizeof rr->content, "%u %s", get16(r->m + end - rdlen), name);
		return rc;
	case DNS_T_SRV:
		if (rdlen < 7)
			return -1;
		off += 6;
		rc = rdata_name(r, &off, end, name, sizeof name);
		if (rc < 0 || off != end)
			return -1;
		snprintf(rr->content, sizeof rr->content, "%u %u %u %s", get16(r->m + end - rdlen),
			 get16(r->m + end - rdlen + 2), get16(r->m + end - rdlen + 4), name);
		return rc;
	case DNS_T_TXT:
		return txt_format(r->m + off, rdlen, rr->content, sizeof rr->content);
	case DNS_T_SOA:
		return soa_format(r, off, end, rr, serial);
	default:
		return 1;
	}
}

static int zone_push(struct dns_zone *z, const struct dns_rr *rr)
{
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 16;
		if (cap > AXFR_MAX_RECORDS)
			return -1;
		struct dns_rr *n = realloc(z->rr, cap * sizeof *n);
		if (n == NULL)
			return -1;
		z->rr = n;
		z->cap = cap;
	}
	z->rr[z->n++] = *rr;
	return 0;
}

int dns_axfr_zone_name(const char *domain, char *out, size_t cap)
{
	size_t n = strlen(domain);

	while (n > 0 && domain[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(domain[i] >= 'A' && domain[i] <= 'Z' ? domain[i] - 'A' + 'a' : domain[i]);
	out[n] = '\0';
	return 0;
}

int dns_axfr_in_zone(const char *name, const char *zone)
{
	size_t ln = strlen(name), lz = strlen(zone);

	if (lz == 0)
		return 1;
	if (ln == lz)
		return strcmp(name, zone) == 0;
	return ln > lz && name[ln - lz - 1] == '.' && strcmp(name + ln - lz, zone) == 0;
}

/* One answer record at *off. 1 when it is the closing SOA, 0 otherwise, -1 error. */
static int rr_read(const struct rd *r, size_t *off, const char *zone, struct dns_zone *z,
		   char *err, size_t errlen)
{
	struct dns_rr rr;
	uint32_t serial = 0;
	int nrc = name_read(r, off, rr.name, sizeof rr.name);

	if (nrc < 0 || *off + 10 > r->len) {
		seterr(err, errlen, "malformed record owner name at offset %zu", *off);
		return -1;
	}
	rr.type = get16(r->m + *off);
	uint16_t class = get16(r->m + *off + 2);
	rr.ttl = get32(r->m + *off + 4);
	size_t rdlen = get16(r->m + *off + 8), at = *off + 10;
	if (at + rdlen > r->len) {
		seterr(err, errlen, "record data of %s runs past the message", rr.name);
		return -1;
	}
	*off = at + rdlen;
	int rc = rdata_format(r, at, rdlen, &rr, &serial);
	if (rc < 0) {
		seterr(err, errlen, "malformed %s record data of %s", dns_axfr_type_name(rr.type),
		       rr.name);
		return -1;
	}
	if (z->n == 0 && rr.type != DNS_T_SOA) {
		seterr(err, errlen, "the transfer does not start with the zone's SOA");
		return -1;
	}
	if (rr.type == DNS_T_SOA && z->n > 0) {
		if (strcmp(rr.name, zone) == 0)
			return 1;
		seterr(err, errlen, "a SOA of %s inside the transfer of zone %s", rr.name, zone);
		return -1;
	}
	if (z->n == 0) {
		if (rc != 0 || strcmp(rr.name, zone) != 0) {
			seterr(err, errlen, "the opening SOA is not the zone %s's", zone);
			return -1;
		}
		z->serial = serial;
	} else if (rc != 0 || nrc != 0 || class != 1 || !dns_axfr_in_zone(rr.name, zone)) {
		z->skipped++;
		return 0;
	}
	if (zone_push(z, &rr) != 0) {
		seterr(err, errlen, "zone %s: too many records", zone);
		return -1;
	}
	return 0;
}

static int header_check(const struct rd *r, uint16_t id, size_t *off, char *err,
			size_t errlen)
{
	if (r->len < 12) {
		seterr(err, errlen, "message shorter than a DNS header (%zu bytes)", r->len);
		return -1;
	}
	uint16_t flags = get16(r->m + 2);
	if (get16(r->m) != id || !(flags & 0x8000)) {
		seterr(err, errlen, "not an answer to our query (id %u)", get16(r->m));
		return -1;
	}
	if ((flags & 0x000f) != 0) {
		seterr(err, errlen, "transfer refused (rcode %u)", flags & 0x000f);
		return -1;
	}
	*off = 12;
	for (unsigned q = get16(r->m + 4); q > 0; q--) {
		char name[DNS_NAME_MAX];
		if (name_read(r, off, name, sizeof name) < 0 || *off + 4 > r->len) {
			seterr(err, errlen, "malformed question section");
			return -1;
		}
		*off += 4;
	}
	return get16(r->m + 6);
}

int dns_axfr_parse_msg(const uint8_t *msg, size_t len, uint16_t id, const char *zone,
		       struct dns_zone *z, char *err, size_t errlen)
{
	struct rd r = {msg, len};
	size_t off;
	int an = header_check(&r, id, &off, err, errlen);

	if (an < 0)
		return -1;
	if (an == 0) {
		seterr(err, errlen, "empty answer");
		return -1;
	}
	for (int i = 0; i < an; i++) {
		int rc = rr_read(&r, &off, zone, z, err, errlen);
		if (rc != 0)
			return rc; /* records after the closing SOA are ignored */
	}
	return 0;
}

int dns_axfr_query(const char *zone, uint16_t id, uint8_t *buf, size_t cap)
{
	size_t o = 14, zl = strlen(zone);
	const char *p = zone;

	if (cap < 14 + zl + 6 || zl > 253)
		return -1;
	memset(buf, 0, 14);
	buf[2] = (uint8_t)(id >> 8);
	buf[3] = (uint8_t)id;
	buf[7] = 1; /* QDCOUNT */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63)
			return -1;
		buf[o++] = (uint8_t)l;
		memcpy(buf + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	buf[o++] = 0;
	buf[o++] = 0;
	buf[o++] = DNS_T_AXFR;
	buf[o++] = 0;
	buf[o++] = 1; /* IN */
	buf[0] = (uint8_t)((o - 2) >> 8);
	buf[1] = (uint8_t)(o - 2);
	return (int)o;
}

void dns_axfr_zone_free(struct dns_zone *z)
{
	free(z->rr);
	memset(z, 0, sizeof *z);
}
