/*
 * netdef.c: parse, validate and (de)serialise client network definitions
 * (netdef.h). Pure code: both zk-election and net-router link it, and the
 * bytes it sees (ZooKeeper data, IPC frames) are untrusted.
 */
#include "netdef.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Error text: the offending value is shown, but clipped and with control bytes
 * replaced, because it ends up in a log line. */
static void seterr(char *err, size_t errlen, const char *key, const char *value,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void seterr(char *err, size_t errlen, const char *key, const char *value,
		   const char *fmt, ...)
{
	char shown[72], why[160];
	size_t i = 0;
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	if (value != NULL) {
		for (; value[i] != '\0' && i < sizeof(shown) - 4; i++) {
			unsigned char c = (unsigned char)value[i];
			shown[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c; /* logs stay ASCII */
		}
		if (value[i] != '\0') {
			memcpy(shown + i, "...", 3);
			i += 3;
		}
	}
	shown[i] = '\0';
	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (value != NULL)
		(void)snprintf(err, errlen, "%s: '%s' %s", key, shown, why);
	else
		(void)snprintf(err, errlen, "%s: %s", key, why);
}

/* Printable text without control bytes (bytes >= 0x80 pass: descriptions may be
 * UTF-8); used for free-text fields that go into logs and files. */
static int text_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] == 0x7f)
			return 0;
	return n < max;
}

static int is_none(const char *s)
{
	return s[0] == '\0' || strcmp(s, "None") == 0;
}

/* Strict decimal: digits only, no sign or blanks, at most `maxdigits`. */
static int parse_dec(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t n = 0;

	if (s[0] == '\0')
		return -1;
	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 19)
			return -1;
		v = v * 10 + (unsigned long long)(s[n] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* "None" (or empty) -> unset; else an address of `family`, with "/prefix" when
 * want_prefix (required then, with no host bits set), without otherwise. */
static int parse_addr(const char *key, const char *s, int family, int want_prefix,
		      struct netdef_addr *a, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	const char *what = family == AF_INET ? "IPv4" : "IPv6";
	int maxp = family == AF_INET ? 32 : 128, alen = family == AF_INET ? 4 : 16;
	unsigned long long p = 0;
	size_t hl;

	memset(a, 0, sizeof(*a));
	a->prefix = -1;
	if (is_none(s))
		return 0;
	if (want_prefix && slash == NULL) {
		seterr(err, errlen, key, s, "is not an %s network (no /prefix)", what);
		return -1;
	}
	if (!want_prefix && slash != NULL) {
		seterr(err, errlen, key, s, "must be an %s address without /prefix", what);
		return -1;
	}
	hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hl == 0 || hl >= sizeof(host)) {
		seterr(err, errlen, key, s, "is not an %s address", what);
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(family, host, a->addr) != 1) {
		seterr(err, errlen, key, s, "is not an %s address", what);
		return -1;
	}
	if (slash != NULL) {
		if (strlen(slash + 1) > 3 || parse_dec(slash + 1, (unsigned long long)maxp, &p) < 0) {
			seterr(err, errlen, key, s, "has an invalid prefix length (0..%d)", maxp);
			return -1;
		}
		for (int bit = (int)p; bit < alen * 8; bit++)
			if (a->addr[bit / 8] & (0x80u >> (bit % 8))) {
				seterr(err, errlen, key, s, "has host bits set");
				return -1;
			}
		a->prefix = (int)p;
	}
	if (inet_ntop(family, a->addr, canon, sizeof(canon)) == NULL) {
		seterr(err, errlen, key, s, "cannot be printed");
		return -1;
	}
	a->set = 1;
	a->family = family;
	if (a->prefix >= 0)
		(void)snprintf(a->text, sizeof(a->text), "%s/%d", canon, a->prefix);
	else
		(void)snprintf(a->text, sizeof(a->text), "%s", canon);
	return 0;
}

static int inside(const struct netdef_addr *net, const struct netdef_addr *a)
{
	if (!net->set || !a->set || net->family != a->family || net->prefix < 0)
		return 0;
	for (int bit = 0; bit < net->prefix; bit++) {
		unsigned m = 0x80u >> (bit % 8);
		if ((net->addr[bit / 8] & m) != (a->addr[bit / 8] & m))
			return 0;
	}
	return 1;
}

/* IPv4 network or broadcast address of a /0../30 network: not usable by a host */
static int v4_reserved(const struct netdef_addr *net, const struct netdef_addr *a)
{
	uint32_t x, host;

	if (net->family != AF_INET || net->prefix > 30)
		return 0;
	memcpy(&x, a->addr, 4);
	host = ntohl(x) & (net->prefix == 0 ? 0xffffffffu : (0xffffffffu >> net->prefix));
	return host == 0 || host == (net->prefix == 0 ? 0xffffffffu : (0xffffffffu >> net->prefix));
}

/* DNS name: labels of [A-Za-z0-9_-], 1..63 each, dot-separated, <= 253 */
static int dns_name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* The API stores name_servers as a Python list repr; accept that and a plain
 * comma list, and keep "a,b" with every entry an address or a DNS name. Blanks
 * around an entry go; a blank inside one is an error, not a join ("a b" is not
 * the name "ab"). "None", like for every other key, means unset. */
static int clean_ns(const char *s, char *out, size_t outlen, char *err, size_t errlen)
{
	char item[NETDEF_TEXT];
	size_t o = 0, il = 0;
	const char *p = s;
	int gap = 0; /* a blank after the entry began */

	if (strlen(s) >= NETDEF_TEXT) {
		seterr(err, errlen, "name_servers", s, "is too long");
		return -1;
	}
	out[0] = '\0';
	if (strcmp(s, "None") == 0)
		return 0;
	for (;; p++) {
		char c = *p;
		if (c == ',' || c == '\0') {
			item[il] = '\0';
			if (il > 0) {
				unsigned char tmp[16];
				if (!dns_name_ok(item) && inet_pton(AF_INET, item, tmp) != 1 &&
				    inet_pton(AF_INET6, item, tmp) != 1) {
					seterr(err, errlen, "name_servers", s,
					       "has an entry that is neither an address nor a name");
					return -1;
				}
				if (o + il + 2 > outlen) {
					seterr(err, errlen, "name_servers", s, "is too long");
					return -1;
				}
				if (o > 0)
					out[o++] = ',';
				memcpy(out + o, item, il);
				o += il;
				out[o] = '\0';
			}
			il = 0;
			gap = 0;
			if (c == '\0')
				break;
			continue;
		}
		if (c == '[' || c == ']' || c == '\'' || c == '"')
			continue;
		if (c == ' ' || c == '\t') {
			gap = il > 0;
			continue;
		}
		if (gap) {
			seterr(err, errlen, "name_servers", s, "has an entry with a blank inside");
			return -1;
		}
		if (il + 1 >= sizeof(item))
			return -1; /* unreachable: s is shorter than item */
		item[il++] = c;
	}
	return 0;
}

static int parse_bool(const char *key, const char *s, int *out, char *err, size_t errlen)
{
	if (strcmp(s, "True") == 0 || strcmp(s, "true") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(s, "False") == 0 || strcmp(s, "false") == 0 || s[0] == '\0') {
		*out = 0;
		return 0;
	}
	seterr(err, errlen, key, s, "is not True or False");
	return -1;
}

void netdef_init(struct netdef *d, uint32_t vni)
{
	memset(d, 0, sizeof(*d));
	d->vni = vni;
	d->managed = 0;
	d->net4.prefix = d->gw4.prefix = d->dhcp4_start.prefix = d->dhcp4_end.prefix = -1;
	d->net6.prefix = d->gw6.prefix = -1;
}

void netdef_clear(struct netdef *d)
{
	free(d->res);
	free(d->acl_in);
	free(d->acl_out);
	netdef_init(d, 0);
}

int netdef_set_key(struct netdef *d, const char *key, const char *value, char *err,
		   size_t errlen)
{
	if (key == NULL || value == NULL) {
		seterr(err, errlen, "(null)", NULL, "missing key or value");
		return -1;
	}
	if (key[0] == '\0') {
		if (!text_ok(value, sizeof(d->desc))) {
			seterr(err, errlen, "description", value,
			       "has control characters or is too long");
			return -1;
		}
		(void)snprintf(d->desc, sizeof(d->desc), "%s", value);
		return 0;
	}
	if (strcmp(key, "nettype") == 0) {
		if (strcmp(value, "managed") == 0)
			d->managed = 1;
		else if (strcmp(value, "bridged") == 0)
			d->managed = 0;
		else {
			seterr(err, errlen, key, value, "is not managed or bridged");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "domain") == 0) {
		if (value[0] != '\0' && !dns_name_ok(value)) {
			seterr(err, errlen, key, value, "is not a DNS domain");
			return -1;
		}
		(void)snprintf(d->domain, sizeof(d->domain), "%s", value);
		return 0;
	}
	if (strcmp(key, "name_servers") == 0)
		return clean_ns(value, d->ns, sizeof(d->ns), err, errlen);
	if (strcmp(key, "ip4_network") == 0)
		return parse_addr(key, value, AF_INET, 1, &d->net4, err, errlen);
	if (strcmp(key, "ip4_gateway") == 0)
		return parse_addr(key, value, AF_INET, 0, &d->gw4, err, errlen);
	if (strcmp(key, "dhcp4_start") == 0)
		return parse_addr(key, value, AF_INET, 0, &d->dhcp4_start, err, errlen);
	if (strcmp(key, "dhcp4_end") == 0)
		return parse_addr(key, value, AF_INET, 0, &d->dhcp4_end, err, errlen);
	if (strcmp(key, "ip6_network") == 0)
		return parse_addr(key, value, AF_INET6, 1, &d->net6, err, errlen);
	if (strcmp(key, "ip6_gateway") == 0)
		return parse_addr(key, value, AF_INET6, 0, &d->gw6, err, errlen);
	if (strcmp(key, "dhcp4_flag") == 0)
		return parse_bool(key, value, &d->dhcp4, err, errlen);
	if (strcmp(key, "dhcp6_flag") == 0)
		return parse_bool(key, value, &d->dhcp6, err, errlen);
	seterr(err, errlen, key, NULL, "unknown key");
	return -1;
}

/* Lower-case colon MAC; upper case is accepted and folded. */
static int parse_mac(const char *s, char out[18])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 17; i++) {
		char c = s[i];
		if (i % 3 == 2) {
			if (c != ':')
				return -1;
			out[i] = c;
			continue;
		}
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		out[i] = c;
	}
	out[17] = '\0';
	return 0;
}

/* The characters dnsmasq's legal_hostname() accepts: a reservation for "my_vm"
 * must not make its whole network invalid. */
static int hostname_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return n <= 63;
}

int netdef_add_res(struct netdef *d, const char *mac, const char *ipaddr,
		   const char *hostname, char *err, size_t errlen)
{
	struct netdef_res r;

	memset(&r, 0, sizeof(r));
	if (mac == NULL || ipaddr == NULL) {
		seterr(err, errlen, "dhcp4_reservations", NULL, "missing mac or ipaddr");
		return -1;
	}
	if (hostname == NULL)
		hostname = "";
	if (parse_mac(mac, r.mac) < 0) {
		seterr(err, errlen, "dhcp4_reservations", mac, "is not a MAC address");
		return -1;
	}
	if (is_none(ipaddr) ||
	    parse_addr("dhcp4_reservations ipaddr", ipaddr, AF_INET, 0, &r.ip, err, errlen) < 0) {
		if (is_none(ipaddr))
			seterr(err, errlen, "dhcp4_reservations ipaddr", ipaddr, "is missing");
		return -1;
	}
	if (!hostname_ok(hostname)) {
		seterr(err, errlen, "dhcp4_reservations hostname", hostname,
		       "is not a host name ([A-Za-z0-9._-]{0,63})");
		return -1;
	}
	(void)snprintf(r.hostname, sizeof(r.hostname), "%s", hostname);
	if (d->nres >= NETDEF_MAX_RES) {
		seterr(err, errlen, "dhcp4_reservations", NULL, "more than %d reservations",
		       NETDEF_MAX_RES);
		return -1;
	}
	if ((d->nres & (d->nres - 1)) == 0) { /* grow at powers of two */
		size_t cap = d->nres == 0 ? 4 : d->nres * 2;
		struct netdef_res *n = realloc(d->res, cap * sizeof(*n));
		if (n == NULL) {
			seterr(err, errlen, "dhcp4_reservations", NULL, "out of memory");
			return -1;
		}
		d->res = n;
	}
	d->res[d->nres++] = r;
	return 0;
}

/* The rule goes verbatim into an nftables file: one line, no statement
 * separator, printable ASCII only. */
static int rule_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c < 0x20 || c >= 0x7f || c == ';')
			return 0;
	}
	return n > 0 && n < NETDEF_RULE;
}

int netdef_add_acl(struct netdef *d, int out, const char *desc, const char *order,
		   const char *rule, char *err, size_t errlen)
{
	const char *key = out ? "firewall_rules/out" : "firewall_rules/in";
	struct netdef_acl **arr = out ? &d->acl_out : &d->acl_in;
	size_t *n = out ? &d->nacl_out : &d->nacl_in;
	unsigned long long ord;
	struct netdef_acl *a;

	if (desc == NULL || order == NULL || rule == NULL) {
		seterr(err, errlen, key, NULL, "missing description, order or rule");
		return -1;
	}
	if (desc[0] == '\0' || !text_ok(desc, NETDEF_TEXT)) {
		seterr(err, errlen, key, desc, "is not a usable rule description");
		return -1;
	}
	if (parse_dec(order, 1000000000ull, &ord) < 0) {
		seterr(err, errlen, key, order, "order of '%.64s' is not a number 0..1e9", desc);
		return -1;
	}
	if (!rule_ok(rule)) {
		seterr(err, errlen, key, rule,
		       "rule of '%.64s' is empty, too long or has ';' or control characters", desc);
		return -1;
	}
	if (*n >= NETDEF_MAX_ACL) {
		seterr(err, errlen, key, NULL, "more than %d rules", NETDEF_MAX_ACL);
		return -1;
	}
	if ((*n & (*n - 1)) == 0) {
		size_t cap = *n == 0 ? 4 : *n * 2;
		struct netdef_acl *p = realloc(*arr, cap * sizeof(*p));
		if (p == NULL) {
			seterr(err, errlen, key, NULL, "out of memory");
			return -1;
		}
		*arr = p;
	}
	a = &(*arr)[(*n)++];
	memset(a, 0, sizeof(*a));
	a->order = (long)ord;
	(void)snprintf(a->desc, sizeof(a->desc), "%s", desc);
	(void)snprintf(a->rule, sizeof(a->rule), "%s", rule);
	return 0;
}

static int acl_cmp(const void *pa, const void *pb)
{
	const struct netdef_acl *a = pa, *b = pb;

	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->desc, b->desc); /* ties: a stable, reproducible order */
}

static int res_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct netdef_res *)pa)->mac, ((const struct netdef_res *)pb)->mac);
}

static int check_acls(struct netdef_acl *a, size_t n, const char *key, char *err, size_t errlen)
{
	if (n == 0)
		return 0;
	qsort(a, n, sizeof(*a), acl_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(a[i].desc, a[i - 1].desc) == 0 && a[i].order == a[i - 1].order) {
			seterr(err, errlen, key, a[i].desc, "appears twice");
			return -1;
		}
	return 0;
}

int netdef_validate(struct netdef *d, char *err, size_t errlen)
{
	char vni[16];

	(void)snprintf(vni, sizeof(vni), "%u", d->vni);
	if (d->vni < 1 || d->vni > NETDEF_VNI_MAX) {
		seterr(err, errlen, "vni", vni, "is out of range 1..%u", NETDEF_VNI_MAX);
		return -1;
	}
	if (!d->managed && d->vni > 4094) {
		seterr(err, errlen, "vni", vni, "is out of the VLAN range 1..4094 of a bridged network");
		return -1;
	}
	if (d->gw4.set && !d->net4.set) {
		seterr(err, errlen, "ip4_gateway", d->gw4.text, "is set but ip4_network is None");
		return -1;
	}
	if (d->gw4.set && (!inside(&d->net4, &d->gw4) || v4_reserved(&d->net4, &d->gw4))) {
		seterr(err, errlen, "ip4_gateway", d->gw4.text, "is not a host address of %s",
		       d->net4.text);
		return -1;
	}
	if (d->gw6.set && !d->net6.set) {
		seterr(err, errlen, "ip6_gateway", d->gw6.text, "is set but ip6_network is None");
		return -1;
	}
	if (d->gw6.set && !inside(&d->net6, &d->gw6)) {
		seterr(err, errlen, "ip6_gateway", d->gw6.text, "is outside %s", d->net6.text);
		return -1;
	}
	if (d->dhcp4) {
		if (!d->net4.set || !d->dhcp4_start.set || !d->dhcp4_end.set) {
			seterr(err, errlen, "dhcp4_flag", "True", "needs ip4_network, dhcp4_start and dhcp4_end");
			return -1;
		}
		if (d->managed && !d->gw4.set) {
			seterr(err, errlen, "dhcp4_flag", "True", "needs ip4_gateway on a managed network");
			return -1;
		}
		if (!inside(&d->net4, &d->dhcp4_start) || v4_reserved(&d->net4, &d->dhcp4_start)) {
			seterr(err, errlen, "dhcp4_start", d->dhcp4_start.text, "is not a host address of %s",
			       d->net4.text);
			return -1;
		}
		if (!inside(&d->net4, &d->dhcp4_end) || v4_reserved(&d->net4, &d->dhcp4_end)) {
			seterr(err, errlen, "dhcp4_end", d->dhcp4_end.text, "is not a host address of %s",
			       d->net4.text);
			return -1;
		}
		if (memcmp(d->dhcp4_start.addr, d->dhcp4_end.addr, 4) > 0) {
			seterr(err, errlen, "dhcp4_end", d->dhcp4_end.text, "is before dhcp4_start %s",
			       d->dhcp4_start.text);
			return -1;
		}
	}
	if (d->dhcp6 && (!d->net6.set || (d->managed && !d->gw6.set))) {
		seterr(err, errlen, "dhcp6_flag", "True", "needs ip6_network and ip6_gateway");
		return -1;
	}
	if (d->nres > 0) {
		qsort(d->res, d->nres, sizeof(*d->res), res_cmp);
		for (size_t i = 0; i < d->nres; i++) {
			if (i > 0 && strcmp(d->res[i].mac, d->res[i - 1].mac) == 0) {
				seterr(err, errlen, "dhcp4_reservations", d->res[i].mac, "appears twice");
				return -1;
			}
			if (!d->net4.set || !inside(&d->net4, &d->res[i].ip) ||
			    v4_reserved(&d->net4, &d->res[i].ip)) {
				seterr(err, errlen, "dhcp4_reservations", d->res[i].mac,
				       "reserves %s, not a host address of ip4_network %s",
				       d->res[i].ip.text, d->net4.set ? d->net4.text : "None");
				return -1;
			}
		}
	}
	if (check_acls(d->acl_in, d->nacl_in, "firewall_rules/in", err, errlen) < 0 ||
	    check_acls(d->acl_out, d->nacl_out, "firewall_rules/out", err, errlen) < 0)
		return -1;
	return 0;
}

static const char *addr_text(const struct netdef_addr *a)
{
	return a->set ? a->text : "None";
}

int netdef_encode(const struct netdef *d, struct ipc_strv_buf *b)
{
	strvb_addf(b, "vni=%u", d->vni);
	strvb_addf(b, "type=%s", d->managed ? "managed" : "bridged");
	strvb_addf(b, "desc=%s", d->desc);
	strvb_addf(b, "domain=%s", d->domain);
	strvb_addf(b, "ns=%s", d->ns);
	strvb_addf(b, "net4=%s", addr_text(&d->net4));
	strvb_addf(b, "gw4=%s", addr_text(&d->gw4));
	strvb_addf(b, "dhcp4=%s", d->dhcp4 ? "True" : "False");
	strvb_addf(b, "dhcp4_start=%s", addr_text(&d->dhcp4_start));
	strvb_addf(b, "dhcp4_end=%s", addr_text(&d->dhcp4_end));
	strvb_addf(b, "net6=%s", addr_text(&d->net6));
	strvb_addf(b, "gw6=%s", addr_text(&d->gw6));
	strvb_addf(b, "dhcp6=%s", d->dhcp6 ? "True" : "False");
	for (size_t i = 0; i < d->nres; i++)
		strvb_addf(b, "res=%s,%s,%s", d->res[i].mac, d->res[i].ip.text, d->res[i].hostname);
	for (size_t i = 0; i < d->nacl_in; i++)
		strvb_addf(b, "acl_in=%ld\t%s\t%s", d->acl_in[i].order, d->acl_in[i].desc,
			   d->acl_in[i].rule);
	for (size_t i = 0; i < d->nacl_out; i++)
		strvb_addf(b, "acl_out=%ld\t%s\t%s", d->acl_out[i].order, d->acl_out[i].desc,
			   d->acl_out[i].rule);
	return b->failed ? -1 : 0;
}

/* wire key -> ZooKeeper key of netdef_set_key; each may appear once per record */
static const char *const wire_keys[][2] = {
	{"type", "nettype"},	     {"desc", ""},		 {"domain", "domain"},
	{"ns", "name_servers"},	     {"net4", "ip4_network"},	 {"gw4", "ip4_gateway"},
	{"dhcp4", "dhcp4_flag"},     {"dhcp4_start", "dhcp4_start"}, {"dhcp4_end", "dhcp4_end"},
	{"net6", "ip6_network"},     {"gw6", "ip6_gateway"},	 {"dhcp6", "dhcp6_flag"},
};
#define NWIRE (sizeof(wire_keys) / sizeof(wire_keys[0]))

static int decode_item(struct netdef *d, const char *s, unsigned *seen, char *err, size_t errlen)
{
	const char *eq = strchr(s, '=');
	char key[16], *f1, *f2, tmp[NETDEF_TEXT + NETDEF_RULE + 32];
	size_t kl;

	if (eq == NULL || (kl = (size_t)(eq - s)) == 0 || kl >= sizeof(key)) {
		seterr(err, errlen, "record", s, "is not key=value");
		return -1;
	}
	memcpy(key, s, kl);
	key[kl] = '\0';
	for (size_t i = 0; i < NWIRE; i++)
		if (strcmp(key, wire_keys[i][0]) == 0) {
			if (*seen & (1u << i)) {
				seterr(err, errlen, key, NULL, "appears twice");
				return -1;
			}
			*seen |= 1u << i;
			return netdef_set_key(d, wire_keys[i][1], eq + 1, err, errlen);
		}
	if (strlen(eq + 1) >= sizeof(tmp)) {
		seterr(err, errlen, key, NULL, "value too long");
		return -1;
	}
	strcpy(tmp, eq + 1);
	if (strcmp(key, "res") == 0) {
		if ((f1 = strchr(tmp, ',')) == NULL || (f2 = strchr(f1 + 1, ',')) == NULL) {
			seterr(err, errlen, key, eq + 1, "is not mac,ip,hostname");
			return -1;
		}
		*f1++ = '\0';
		*f2++ = '\0';
		return netdef_add_res(d, tmp, f1, f2, err, errlen);
	}
	if (strcmp(key, "acl_in") == 0 || strcmp(key, "acl_out") == 0) {
		if ((f1 = strchr(tmp, '\t')) == NULL || (f2 = strchr(f1 + 1, '\t')) == NULL) {
			seterr(err, errlen, key, eq + 1, "is not order<TAB>description<TAB>rule");
			return -1;
		}
		*f1++ = '\0';
		*f2++ = '\0';
		return netdef_add_acl(d, key[4] == 'o', f1, tmp, f2, err, errlen);
	}
	seterr(err, errlen, key, NULL, "unknown key");
	return -1;
}

int netdef_decode(const struct ipc_strv *sv, struct netdef **out, size_t *n,
		  void (*skip)(uint32_t vni, const char *why, void *arg), void *arg)
{
	struct netdef *defs = NULL, cur;
	size_t ndefs = 0, cap = 0;
	uint32_t i = 0;
	char err[256];

	*out = NULL;
	*n = 0;
	if (sv->n > 0 && strncmp(sv->v[0], "vni=", 4) != 0)
		return -1;
	while (i < sv->n) {
		unsigned long long vni = 0;
		unsigned seen = 0;
		int bad = 0;

		/* sv->v[i] starts with "vni=" here */
		err[0] = '\0';
		if (parse_dec(sv->v[i] + 4, NETDEF_VNI_MAX, &vni) < 0 || vni == 0) {
			seterr(err, sizeof(err), "vni", sv->v[i] + 4, "is out of range 1..%u",
			       NETDEF_VNI_MAX);
			bad = 1;
			vni = 0;
		}
		netdef_init(&cur, (uint32_t)vni);
		for (i++; i < sv->n && strncmp(sv->v[i], "vni=", 4) != 0; i++)
			if (!bad && decode_item(&cur, sv->v[i], &seen, err, sizeof(err)) < 0)
				bad = 1;
		if (!bad && !(seen & 1u)) {
			seterr(err, sizeof(err), "type", NULL, "missing");
			bad = 1;
		}
		for (size_t k = 0; !bad && k < ndefs; k++)
			if (defs[k].vni == cur.vni) {
				seterr(err, sizeof(err), "vni", NULL, "appears twice");
				bad = 1;
			}
		if (!bad && ndefs >= NETDEF_MAX_NETWORKS) {
			seterr(err, sizeof(err), "vni", NULL, "more than %d networks",
			       NETDEF_MAX_NETWORKS);
			bad = 1;
		}
		if (!bad && netdef_validate(&cur, err, sizeof(err)) < 0)
			bad = 1;
		if (bad) {
			if (skip != NULL)
				skip(cur.vni, err, arg);
			netdef_clear(&cur);
			continue;
		}
		if (ndefs == cap) {
			size_t ncap = cap == 0 ? 8 : cap * 2;
			struct netdef *p = realloc(defs, ncap * sizeof(*p));
			if (p == NULL) {
				netdef_clear(&cur);
				netdef_free_all(defs, ndefs);
				return -1;
			}
			defs = p;
			cap = ncap;
		}
		defs[ndefs++] = cur;
	}
	*out = defs;
	*n = ndefs;
	return 0;
}

void netdef_free_all(struct netdef *defs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		netdef_clear(&defs[i]);
	free(defs);
}

void netdef_ifnames(const struct netdef *d, char bridge[16], char link[16])
{
	uint32_t vni = d->vni > NETDEF_VNI_MAX ? 0 : d->vni;

	(void)snprintf(bridge, 16, "vmbr%u", (unsigned)vni);
	(void)snprintf(link, 16, "%s%u", d->managed ? "vxlan" : "vlan", (unsigned)vni);
}
