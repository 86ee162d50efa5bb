/*
 * lease_proto.c: request/reply codec of the DHCP lease socket (lease_proto.h).
 * Both ends treat the other's bytes as untrusted, so every field is checked
 * against the same rules here.
 */
#include "lease_proto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {"add", "old", "del", "init"};

int lease_valid_mac(const char *s)
{
	if (s == NULL || strlen(s) != 17)
		return 0;
	for (int i = 0; i < 17; i++) {
		char c = s[i];
		if (i % 3 == 2) {
			if (c != ':')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

int lease_valid_ip4(const char *s)
{
	unsigned char a[4];

	return s != NULL && strlen(s) < 16 && inet_pton(AF_INET, s, a) == 1;
}

int lease_valid_hostname(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		/* dnsmasq's legal_hostname() also allows '_' (vm_1 is a common name) */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.') ||
		    n >= 63)
			return 0;
	}
	return 1;
}

int lease_valid_clientid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	if (strcmp(s, "*") == 0)
		return 1;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == ':') ||
		    n + 1 >= LEASE_CLIENTID_MAX)
			return 0;
	}
	return n > 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (; s[n] != '\0'; n++) {
		unsigned d = (unsigned)(s[n] - '0');
		if (s[n] < '0' || s[n] > '9' || n >= 20 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int lease_parse_expiry(const char *s, uint64_t *out)
{
	return parse_u64(s, UINT64_MAX, out);
}

int lease_parse_vni(const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, 16777215u, &v) < 0 || v == 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int lease_parse_action(const char *s)
{
	for (int i = 0; s != NULL && i < 4; i++)
		if (strcmp(s, action_names[i]) == 0)
			return i;
	return -1;
}

const char *lease_action_name(enum lease_action a)
{
	return (unsigned)a < 4 ? action_names[a] : "?";
}

static int fail(char *err, size_t errlen, const char *field, const char *value)
{
	char shown[48];
	size_t i = 0;

	if (err == NULL || errlen == 0)
		return -1;
	for (; value != NULL && value[i] != '\0' && i < sizeof(shown) - 1; i++) {
		unsigned char c = (unsigned char)value[i];
		shown[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	shown[i] = '\0';
	(void)snprintf(err, errlen, "invalid %s '%s'", field, shown);
	return -1;
}

int lease_req_from_fields(const char *const f[7], struct lease_req *r, char *err,
			  size_t errlen)
{
	int a;

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 7; i++)
		if (f[i] == NULL)
			return fail(err, errlen, "request", "(missing field)");
	if ((a = lease_parse_action(f[0])) < 0)
		return fail(err, errlen, "action", f[0]);
	r->action = (enum lease_action)a;
	if (lease_parse_vni(f[1], &r->vni) < 0)
		return fail(err, errlen, "vni", f[1]);
	if (r->action == LEASE_INIT) {
		/* init concerns the whole network: anything else is a confused client */
		for (int i = 2; i < 7; i++)
			if (f[i][0] != '\0')
				return fail(err, errlen, "init field", f[i]);
		return 0;
	}
	if (!lease_valid_mac(f[2]))
		return fail(err, errlen, "mac", f[2]);
	if (!lease_valid_ip4(f[3]))
		return fail(err, errlen, "ip", f[3]);
	if (!lease_valid_hostname(f[4]))
		return fail(err, errlen, "hostname", f[4]);
	(void)snprintf(r->mac, sizeof(r->mac), "%s", f[2]);
	(void)snprintf(r->ip, sizeof(r->ip), "%s", f[3]);
	(void)snprintf(r->hostname, sizeof(r->hostname), "%s", f[4]);
	if (r->action == LEASE_DEL && f[5][0] == '\0' && f[6][0] == '\0') {
		(void)snprintf(r->clientid, sizeof(r->clientid), "*");
		return 0;
	}
	if (lease_parse_expiry(f[5], &r->expiry) < 0)
		return fail(err, errlen, "expiry", f[5]);
	if (!lease_valid_clientid(f[6]))
		return fail(err, errlen, "clientid", f[6]);
	r->has_expiry = 1;
	(void)snprintf(r->clientid, sizeof(r->clientid), "%s", f[6]);
	return 0;
}

int lease_req_parse(const char *buf, size_t len, struct lease_req *r, char *err,
		    size_t errlen)
{
	char line[LEASE_LINE_MAX + 1];
	const char *f[7];
	size_t nf = 0;

	memset(r, 0, sizeof(*r));
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len >= LEASE_LINE_MAX)
		return fail(err, errlen, "request", "(longer than 1024 bytes)");
	if (memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL)
		return fail(err, errlen, "request", "(NUL or newline inside)");
	memcpy(line, buf, len);
	line[len] = '\0';
	f[nf++] = line;
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\t') {
			if (nf == 7)
				return fail(err, errlen, "request", "(more than 7 fields)");
			*p = '\0';
			f[nf++] = p + 1;
		}
	if (nf != 7)
		return fail(err, errlen, "request", "(fewer than 7 fields)");
	return lease_req_from_fields(f, r, err, errlen);
}

int lease_req_format(const struct lease_req *r, char *buf, size_t len)
{
	char exp[24], vni[12];
	struct lease_req check;
	int n;

	(void)snprintf(vni, sizeof(vni), "%u", r->vni);
	if (r->action == LEASE_INIT) {
		n = snprintf(buf, len, "init\t%s\t\t\t\t\t\n", vni);
	} else {
		if (r->has_expiry)
			(void)snprintf(exp, sizeof(exp), "%llu", (unsigned long long)r->expiry);
		else
			exp[0] = '\0';
		n = snprintf(buf, len, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", lease_action_name(r->action),
			     vni, r->mac, r->ip, r->hostname, exp, r->has_expiry ? r->clientid : "");
	}
	if (n < 0 || (size_t)n >= len || n > LEASE_LINE_MAX)
		return -1;
	/* what we send must pass the receiver's parser */
	if (lease_req_parse(buf, (size_t)n, &check, NULL, 0) < 0)
		return -1;
	return n;
}

int lease_reply_format_status(int rc, const char *msg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%d\t", rc);
	size_t o;

	if (n < 0 || (size_t)n >= len)
		return -1;
	o = (size_t)n;
	for (size_t i = 0; msg != NULL && msg[i] != '\0' && o + 2 < len && o < 512; i++) {
		unsigned char c = (unsigned char)msg[i];
		buf[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	if (o + 2 > len)
		return -1;
	buf[o++] = '\n';
	buf[o] = '\0';
	return (int)o;
}

int lease_reply_parse_status(const char *buf, size_t len, int *rc, char *msg, size_t msglen,
			     size_t *consumed)
{
	const char *nl = memchr(buf, '\n', len), *tab;
	long v = 0;
	size_t i = 0, ml;
	int neg = 0;

	if (nl == NULL || (tab = memchr(buf, '\t', (size_t)(nl - buf))) == NULL)
		return -1;
	if (buf[0] == '-') {
		neg = 1;
		i = 1;
	}
	if ((size_t)(tab - buf) == i || (size_t)(tab - buf) > i + 9)
		return -1;
	for (; buf + i < tab; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		v = v * 10 + (buf[i] - '0');
	}
	if (neg ? v == 0 : v != 0) /* "0" or a negative number, nothing else */
		return -1;
	ml = (size_t)(nl - tab - 1);
	if (memchr(tab + 1, '\0', ml) != NULL)
		return -1;
	if (msg != NULL && msglen > 0) {
		if (ml >= msglen)
			ml = msglen - 1;
		memcpy(msg, tab + 1, ml);
		msg[ml] = '\0';
	}
	*rc = neg ? (int)-v : 0;
	*consumed = (size_t)(nl - buf) + 1;
	return 0;
}

int lease_line_format(uint64_t expiry, const char *mac, const char *ip, const char *hostname,
		      const char *clientid, char *buf, size_t len)
{
	int n;

	if (!lease_valid_mac(mac) || !lease_valid_ip4(ip) || !lease_valid_hostname(hostname) ||
	    !lease_valid_clientid(clientid))
		return -1;
	n = snprintf(buf, len, "%llu %s %s %s %s", (unsigned long long)expiry, mac, ip,
		     hostname[0] != '\0' ? hostname : "*", clientid);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

int lease_line_valid(const char *line, size_t len)
{
	char tmp[LEASE_LINE_MAX + 1], *f[6];
	uint64_t exp;
	int nf = 0;

	if (len >= sizeof(tmp) || memchr(line, '\0', len) != NULL)
		return 0;
	memcpy(tmp, line, len);
	tmp[len] = '\0';
	f[nf++] = tmp;
	for (char *p = tmp; *p != '\0'; p++)
		if (*p == ' ') {
			if (nf == 5)
				return 0;
			*p = '\0';
			f[nf++] = p + 1;
		}
	if (nf != 5)
		return 0;
	return lease_parse_expiry(f[0], &exp) == 0 && lease_valid_mac(f[1]) &&
	       lease_valid_ip4(f[2]) && f[3][0] != '\0' &&
	       (strcmp(f[3], "*") == 0 || lease_valid_hostname(f[3])) && lease_valid_clientid(f[4]);
}
