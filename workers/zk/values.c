/*
 * values.c: validators and parsers for untrusted values (see zk_values.h).
 * Nothing here may crash on any input: every read stays inside the string.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "zk_values.h"

static int in_set(const char *s, const char *const *set)
{
	if (s == NULL)
		return 0;
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

int zk_values_daemonstate(const char *s)
{
	static const char *const set[] = {"init", "run", "shutdown", "stop", "dead", NULL};
	return in_set(s, set);
}

int zk_values_routerstate(const char *s)
{
	static const char *const set[] = {"client", "secondary", "takeover", "primary",
					  "relinquish", NULL};
	return in_set(s, set);
}

int zk_values_domainstate(const char *s)
{
	static const char *const set[] = {"ready", "flush", "flushed", "unflush", NULL};
	return in_set(s, set);
}

int zk_values_vmstate(const char *s)
{
	static const char *const set[] = {"start", "restart", "shutdown", "stop", "migrate",
					  "unmigrate", "disable", "fail", "provision",
					  "delete", "stopped", NULL};
	return in_set(s, set);
}

int zk_values_selector(const char *s)
{
	static const char *const set[] = {"mem", "load", "vcpus", "vms", "None", NULL};
	return in_set(s, set);
}

int zk_values_pybool(const char *s)
{
	static const char *const set[] = {"True", "False", NULL};
	return in_set(s, set);
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* Node name of length n starting at s (not necessarily NUL-terminated there). */
static int node_name_n(const char *s, size_t n)
{
	if (n == 0 || n > 63 || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return 0;
	return 1;
}

int zk_values_node_name(const char *s)
{
	return s != NULL && node_name_n(s, strlen(s));
}

int zk_values_opt_node_name(const char *s)
{
	return s != NULL && (s[0] == '\0' || zk_values_node_name(s));
}

int zk_values_primary(const char *s)
{
	return s != NULL && (strcmp(s, "none") == 0 || zk_values_node_name(s));
}

static int hexl(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int uuid_n(const char *s, size_t n)
{
	if (n != 36)
		return 0;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!hexl(s[i])) {
			return 0;
		}
	}
	return 1;
}

int zk_values_uuid(const char *s)
{
	return s != NULL && uuid_n(s, strlen(s));
}

/* A list of items separated by exactly one `sep`, each accepted by ok(). */
static int list_ok(const char *s, char sep, int (*ok)(const char *, size_t))
{
	const char *p = s;

	if (s == NULL)
		return 0;
	if (*s == '\0')
		return 1;
	for (;;) {
		const char *e = strchr(p, sep);
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!ok(p, n))
			return 0;
		if (e == NULL)
			return 1;
		p = e + 1;
	}
}

int zk_values_uuid_list(const char *s)
{
	return list_ok(s, ' ', uuid_n);
}

int zk_values_node_list(const char *s)
{
	return list_ok(s, ',', node_name_n);
}

int zk_values_strtobool(const char *s)
{
	static const char *const yes[] = {"y", "yes", "t", "true", "on", "1", NULL};
	char low[8];
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n >= sizeof(low))
		return 0;
	for (size_t i = 0; i <= n; i++)
		low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	return in_set(low, yes);
}

int zk_values_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int zk_values_float(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return -1;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '+' ||
		      *p == 'e' || *p == 'E'))
			return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/*
 * Python's float repr: the shortest digit string that reads back to the same
 * double, in fixed notation when the decimal exponent is in [-4, 16), else
 * scientific with at least two exponent digits; fixed notation always shows ".0"
 * when integral.
 */
int zk_values_pyfloat(double v, char *buf, size_t size)
{
	char sci[40], digits[20];
	int prec, exp10, nd = 0, neg;
	char *e;
	size_t o = 0;

	if (!isfinite(v) || size < 2)
		return -1;
	for (prec = 0; prec < 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	neg = sci[0] == '-';
	e = strchr(sci, 'e');
	if (e == NULL)
		return -1;
	exp10 = atoi(e + 1);
	for (char *p = sci + neg; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
#define PUT(c)                              \
	do {                                \
		if (o + 1 >= size)          \
			return -1;          \
		buf[o++] = (c);             \
	} while (0)
	if (neg)
		PUT('-');
	if (exp10 >= -4 && exp10 < 16) {
		if (exp10 < 0) {
			PUT('0');
			PUT('.');
			for (int i = -1; i > exp10; i--)
				PUT('0');
			for (int i = 0; i < nd; i++)
				PUT(digits[i]);
		} else {
			for (int i = 0; i <= exp10; i++)
				PUT(i < nd ? digits[i] : '0');
			PUT('.');
			if (nd > exp10 + 1)
				for (int i = exp10 + 1; i < nd; i++)
					PUT(digits[i]);
			else
				PUT('0');
		}
	} else {
		char ex[16];
		PUT(digits[0]);
		if (nd > 1) {
			PUT('.');
			for (int i = 1; i < nd; i++)
				PUT(digits[i]);
		}
		snprintf(ex, sizeof(ex), "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
		for (char *p = ex; *p; p++)
			PUT(*p);
	}
#undef PUT
	buf[o] = '\0';
	return 0;
}

int zk_values_contender(const char *name, uint32_t *seq)
{
	static const char *const markers[] = {"__lock__", "__rlock__"};
	size_t n;

	if (name == NULL)
		return 0;
	n = strlen(name);
	for (int k = 0; k < 2; k++) {
		size_t ml = strlen(markers[k]);
		uint32_t v = 0;
		if (n != 32 + ml + 10)
			continue;
		for (size_t i = 0; i < 32; i++)
			if (!hexl(name[i]))
				return 0;
		if (memcmp(name + 32, markers[k], ml) != 0)
			continue;
		for (size_t i = 32 + ml; i < n; i++) {
			if (name[i] < '0' || name[i] > '9')
				return 0;
			/* ZooKeeper's sequence is a signed 32-bit counter printed %010d */
			if (v > (UINT32_MAX - 9) / 10)
				return 0;
			v = v * 10 + (uint32_t)(name[i] - '0');
		}
		if (seq)
			*seq = v;
		return k + 1;
	}
	return 0;
}

int zk_values_path(const char *s)
{
	size_t n;

	if (s == NULL || s[0] != '/')
		return 0;
	n = strlen(s);
	if (n > 1000)
		return 0;
	if (n == 1)
		return 1;
	if (s[n - 1] == '/')
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
		if (*p == '/') {
			const char *c = p + 1;
			size_t cl = strcspn(c, "/");
			if (cl == 0 || (cl == 1 && c[0] == '.') ||
			    (cl == 2 && c[0] == '.' && c[1] == '.'))
				return 0;
		}
	}
	return 1;
}

/* Value in kB of "Key:   N kB" lines; -1 if absent. */
static long long meminfo_kb(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
			char *end;
			long long v;
			errno = 0;
			v = strtoll(p + kl + 1, &end, 10);
			if (errno != 0 || end == p + kl + 1 || v < 0)
				return -1;
			return v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

int zk_values_meminfo(const char *text, struct zk_values_mem *out)
{
	long long total, mfree, buffers, cached, srecl;
	long long used;

	if (text == NULL)
		return -1;
	total = meminfo_kb(text, "MemTotal");
	mfree = meminfo_kb(text, "MemFree");
	buffers = meminfo_kb(text, "Buffers");
	cached = meminfo_kb(text, "Cached");
	srecl = meminfo_kb(text, "SReclaimable");
	if (total < 0 || mfree < 0 || total > (1LL << 50))
		return -1;
	if (buffers < 0)
		buffers = 0;
	if (cached < 0)
		cached = 0;
	if (srecl < 0)
		srecl = 0;
	/* psutil: used = total - free - buffers - cached (cached includes SReclaimable) */
	used = total - mfree - buffers - (cached + srecl);
	if (used < 0)
		used = total - mfree;
	if (used < 0)
		used = 0;
	out->total_mib = (uint64_t)total / 1024u;
	out->used_mib = (uint64_t)used / 1024u;
	out->free_mib = (uint64_t)mfree / 1024u;
	return 0;
}

int zk_values_loadavg(const char *text, double *out)
{
	char first[32];
	size_t n;

	if (text == NULL)
		return -1;
	n = strcspn(text, " \n");
	if (n == 0 || n >= sizeof(first))
		return -1;
	memcpy(first, text, n);
	first[n] = '\0';
	return zk_values_float(first, out);
}

/* ---- request API policy (the table: lib/policy.c) -------------------------------- */

static int text_ok(const char *v)
{
	return strlen(v) <= 1000000;
}

static int value_ok(enum policy_zk_value kind, const char *v)
{
	switch (kind) {
	case POLICY_ZV_TEXT:
		return text_ok(v);
	case POLICY_ZV_VMSTATE:
		return zk_values_vmstate(v);
	case POLICY_ZV_NODE:
		return zk_values_node_name(v);
	case POLICY_ZV_OPT_NODE:
		return zk_values_opt_node_name(v);
	case POLICY_ZV_PYBOOL:
		return zk_values_pybool(v);
	case POLICY_ZV_NODE_LIST:
		return zk_values_node_list(v);
	case POLICY_ZV_SELECTOR:
		return zk_values_selector(v);
	case POLICY_ZV_DOMAINSTATE:
		return zk_values_domainstate(v);
	case POLICY_ZV_UUID_LIST:
		return zk_values_uuid_list(v);
	case POLICY_ZV_PRIMARY:
		return zk_values_primary(v);
	case POLICY_ZV_NONE:
		break;
	}
	return 0;
}

int zk_values_policy_read(int role, const char *path)
{
	if (!zk_values_path(path))
		return 0;
	return policy_zk_lookup(POLICY_ZK_READ, (enum pvc_role)role, NULL, path) != NULL;
}

int zk_values_policy_write(int role, const char *self, const char *op, const char *path,
			   const char *value, int *version)
{
	const struct policy_zk_rule *r;
	int del;

	*version = -1;
	if (op == NULL || path == NULL || value == NULL || !zk_values_path(path))
		return 0;
	if (strncmp(op, "setv:", 5) == 0) {
		long long v;
		if (zk_values_int(op + 5, 0, 2147483647LL, &v) != 0)
			return 0;
		*version = (int)v;
	} else if (strcmp(op, "set") != 0 && strcmp(op, "create") != 0 &&
		   strcmp(op, "delete") != 0) {
		return 0;
	}
	del = strcmp(op, "delete") == 0;
	if (del && value[0] != '\0')
		return 0;
	r = policy_zk_lookup(POLICY_ZK_WRITE, (enum pvc_role)role, self, path);
	if (r == NULL)
		return 0;
	if (del)
		return !(r->flags & POLICY_ZK_NODELETE);
	return value_ok(r->value, value);
}

const char *zk_values_excerpt(const char *value, int len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen < 8)
		return "";
	if (value == NULL || len <= 0) {
		snprintf(out, outlen, "(empty)");
		return out;
	}
	for (int i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (o + 8 > outlen || i >= 48) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
