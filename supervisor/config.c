/*
 * config.c: load and validate pvcnoded.yaml (ref §9) into struct pvc_config.
 *
 * The file is read into memory, parsed with libyaml into a document (node graph),
 * and the document is walked along a fixed schema. Nothing is recursive over the
 * input: the walk only descends into mappings the schema knows, so anchors, aliases
 * (even cyclic ones) and deep nesting cannot make it loop or overflow the stack.
 *
 * Every error is a single line:
 *     <file>:<line>:<col>: <key.path>: <what was expected, and the value found>
 * Lines and columns are 1-based. A missing key is reported at the position of the
 * mapping that should contain it. The first error stops the load.
 */
#include "config.h"
#include "pvc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define CONFIG_DEFAULT_PATH "/etc/pvc/pvcnoded.yaml"
#define CONFIG_MAX_BYTES ((size_t)1 << 20)
#define KEYPATH_MAX 320
#define SHOW_MAX 48 /* bytes of a value quoted in an error message */

/* Defaults of the keys added by pvcnoded. */
#define DEF_ZK_PORT 2181
#define DEF_ZK_SESSION_TIMEOUT_MS 10000
#define DEF_LIBVIRT_URI "qemu:///system"
#define DEF_MIGRATION_URI "qemu+tcp://{node}.{domain}/system"
#define DEF_MIGRATION_DEST_URI "tcp://{node}.{domain}"
#define DEF_MIGRATION_TIMEOUT 300
#define DEF_SHUTDOWN_TIMEOUT 90
#define DEF_FLUSH_VM_TIMEOUT 600
#define DEF_FLUSH_IN_FLIGHT 1
#define DEF_WORKER_USER "pvc"
#define DEF_HEARTBEAT_MS 500
#define DEF_HANG_TIMEOUT_MS 2000
#define DEF_RESTART_BACKOFF_MAX_MS 30000
#define DEF_HEALTHY_RESET_S 60
#define DEF_CRASHLOOP_MAX 10
#define DEF_CRASHLOOP_WINDOW_S 60

/* Loader state: one per config_load() call (no global mutable state). */
struct ld {
	yaml_document_t *doc;
	const char *file;
	char *err;
	size_t errlen;
};

#define TRY(x)                          \
	do {                            \
		if ((x) < 0)            \
			return -1;      \
	} while (0)

/* ------------------------------------------------------------------------- */
/* error reporting                                                            */

static void err_write(struct ld *l, const yaml_mark_t *m, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Both evaluate to -1, so that `return err_at(...)` fails the caller. */
#define err_at(l, m, path, ...) (err_write((l), (m), (path), __VA_ARGS__), -1)
#define err_node(l, n, path, ...) err_at((l), &(n)->start_mark, (path), __VA_ARGS__)

static void err_write(struct ld *l, const yaml_mark_t *m, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (l->err && l->errlen) {
		if (m)
			snprintf(l->err, l->errlen, "%s:%zu:%zu: %s: %s", l->file,
				 (size_t)m->line + 1, (size_t)m->column + 1, path, msg);
		else
			snprintf(l->err, l->errlen, "%s: %s: %s", l->file, path, msg);
	}
}

/* Quote `len` bytes of `s` for an error message: printable ASCII as is, `"` and `\`
 * escaped, everything else as \xNN; long values are cut with "...". */
static void show(char *out, size_t outsz, const char *s, size_t len)
{
	size_t o = 0, i;

	if (outsz == 0)
		return;
	for (i = 0; i < len && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t tl;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tl = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			tl = 1;
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			tl = 4;
		}
		if (o + tl + 4 >= outsz)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	if (i < len && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static const char *scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t scalar_len(const yaml_node_t *n)
{
	return n->data.scalar.length;
}

/* Scalar whose whole text is `word` (no embedded NUL tricks). */
static int scalar_is(const yaml_node_t *n, const char *word)
{
	return n->type == YAML_SCALAR_NODE && scalar_len(n) == strlen(word) &&
	       memcmp(scalar_text(n), word, scalar_len(n)) == 0;
}

static int is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
		n->data.scalar.style == YAML_ANY_SCALAR_STYLE);
}

/* Plain scalars that YAML (and the reference's loader) read as null. */
static int is_null(const yaml_node_t *n)
{
	if (!is_plain(n))
		return 0;
	return scalar_len(n) == 0 || scalar_is(n, "~") || scalar_is(n, "null") ||
	       scalar_is(n, "Null") || scalar_is(n, "NULL");
}

/* "got ..." part of a message. */
static void describe(const yaml_node_t *n, char *buf, size_t sz)
{
	char q[SHOW_MAX * 4 + 8];

	switch (n->type) {
	case YAML_MAPPING_NODE:
		snprintf(buf, sz, "a mapping");
		return;
	case YAML_SEQUENCE_NODE:
		snprintf(buf, sz, "a list");
		return;
	case YAML_SCALAR_NODE:
		if (is_plain(n) && scalar_len(n) == 0) {
			snprintf(buf, sz, "an empty value");
			return;
		}
		show(q, sizeof q, scalar_text(n), scalar_len(n));
		snprintf(buf, sz, "%s\"%s\"", is_plain(n) ? "" : "the quoted string ", q);
		return;
	default:
		snprintf(buf, sz, "nothing");
		return;
	}
}

/* ------------------------------------------------------------------------- */
/* small helpers                                                              */

/* out = parent "." key (or just key); silently truncated to sz - 1 bytes. */
static void path_join(char *out, size_t sz, const char *parent, const char *key)
{
	size_t o = 0;
	const char *parts[3] = { parent, ".", key };
	int i;

	if (sz == 0)
		return;
	for (i = (parent && parent[0]) ? 0 : 2; i < 3; i++) {
		size_t n = strlen(parts[i]);

		if (n > sz - 1 - o)
			n = sz - 1 - o;
		memcpy(out + o, parts[i], n);
		o += n;
	}
	out[o] = '\0';
}

static int copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Edit distance of two short strings (for "did you mean"); large values are capped. */
static int edit_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), i, j;
	int row[65];

	if (la > 64 || lb > 64)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (i = 1; i <= la; i++) {
		int prev = row[0];

		row[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			int cur = row[j];
			int best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* Keys that people put in the wrong place, with a hint. */
static const struct {
	const char *path;
	const char *hint;
} misplaced[] = {
	{ "pvc.system.fencing.intervals",
	  "the intervals belong under pvc.system.intervals (the reference daemon reads them there)" },
	{ "pvc.intervals", "the intervals belong under pvc.system.intervals" },
	{ "pvc.coordinators", "the coordinator list belongs under pvc.cluster.coordinators" },
	{ "pvc.zookeeper", "ZooKeeper settings belong under pvc.cluster.zookeeper" },
	{ "pvc.libvirt", "libvirt settings belong under pvc.system.libvirt" },
	{ "pvc.supervisor", "supervisor settings belong under pvc.system.supervisor" },
};

/* ------------------------------------------------------------------------- */
/* mappings                                                                   */

static yaml_node_t *node_at(struct ld *l, int idx)
{
	return yaml_document_get_node(l->doc, idx);
}

/* Check that `n` is a mapping whose keys are unique plain strings from `known`. */
static int check_map(struct ld *l, yaml_node_t *n, const char *path, const char *const *known)
{
	yaml_node_pair_t *p, *q;
	char got[SHOW_MAX * 4 + 32];

	if (n->type != YAML_MAPPING_NODE) {
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected a mapping, got %s", got);
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(l, p->key);
		const char *const *kk;
		const char *ks;
		size_t kl;
		int found = 0;

		if (!k)
			return err_node(l, n, path, "malformed mapping");
		if (k->type != YAML_SCALAR_NODE) {
			describe(k, got, sizeof got);
			return err_node(l, k, path, "expected a plain key name, got %s", got);
		}
		ks = scalar_text(k);
		kl = scalar_len(k);
		for (kk = known; *kk; kk++) {
			if (strlen(*kk) == kl && memcmp(*kk, ks, kl) == 0) {
				found = 1;
				break;
			}
		}
		if (!found) {
			char shown[SHOW_MAX * 4 + 8], kpath[KEYPATH_MAX], hint[256] = "";
			const char *best = NULL;
			int bestd = 99;
			size_t i;

			show(shown, sizeof shown, ks, kl);
			path_join(kpath, sizeof kpath, path, shown);
			for (i = 0; i < sizeof misplaced / sizeof misplaced[0]; i++)
				if (strcmp(kpath, misplaced[i].path) == 0)
					snprintf(hint, sizeof hint, "; %s", misplaced[i].hint);
			if (!hint[0]) {
				for (kk = known; *kk; kk++) {
					int d = edit_distance(ks, kl, *kk);

					if (d < bestd) {
						bestd = d;
						best = *kk;
					}
				}
				if (best && bestd <= 2 + (int)strlen(best) / 8)
					snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", best);
				else if (!path[0])
					snprintf(hint, sizeof hint,
						 "; the file must have the single top-level key \"pvc\"");
			}
			return err_node(l, k, kpath, "unknown key%s", hint);
		}
		for (q = n->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = node_at(l, q->key);

			if (k2 && k2->type == YAML_SCALAR_NODE && scalar_len(k2) == kl &&
			    memcmp(scalar_text(k2), ks, kl) == 0) {
				char kpath[KEYPATH_MAX];

				path_join(kpath, sizeof kpath, path, ks);
				return err_node(l, k, kpath, "duplicate key (first given at line %zu)",
						(size_t)k2->start_mark.line + 1);
			}
		}
	}
	return 0;
}

/* Value of `key` in mapping `map` (already checked), or NULL. */
static yaml_node_t *lookup(struct ld *l, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;
	size_t kl = strlen(key);

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(l, p->key);

		if (k && k->type == YAML_SCALAR_NODE && scalar_len(k) == kl &&
		    memcmp(scalar_text(k), key, kl) == 0)
			return node_at(l, p->value);
	}
	return NULL;
}

/*
 * Find `key` in `map` (path `mpath`; map may be NULL = absent optional parent).
 * Writes the key's path to `path`. Returns 1 if present (*out set), 0 if absent
 * (an error if `req`), -1 on error.
 */
static int get(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
	       yaml_node_t **out, char *path, size_t psz)
{
	yaml_node_t *v;

	path_join(path, psz, mpath, key);
	*out = NULL;
	if (!map) /* parent absent: only possible for optional parents */
		return req ? err_at(l, NULL, path, "missing required key") : 0;
	v = lookup(l, map, key);
	if (!v) {
		if (req)
			return err_node(l, map, path, "missing required key");
		return 0;
	}
	*out = v;
	return 1;
}

/* A required key: like get() with req = 1, but *out is non-NULL on success. */
static int need(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		yaml_node_t **out, char *path, size_t psz)
{
	int r = get(l, map, mpath, key, 1, out, path, psz);

	if (r < 0)
		return -1;
	if (r == 0 || !*out)
		return err_at(l, map ? &map->start_mark : NULL, path, "missing required key");
	return 0;
}

/* A sub-mapping with its allowed keys. */
static int f_map(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
		 const char *const *known, yaml_node_t **out, char *path, size_t psz)
{
	int r = get(l, map, mpath, key, req, out, path, psz);

	if (r <= 0)
		return r;
	TRY(check_map(l, *out, path, known));
	return 1;
}

/* ------------------------------------------------------------------------- */
/* scalars                                                                    */

static int v_bool(struct ld *l, yaml_node_t *n, const char *path, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	char got[SHOW_MAX * 4 + 32];
	size_t i;

	if (is_plain(n) && strlen(scalar_text(n)) == scalar_len(n)) {
		const char *s = scalar_text(n);

		for (i = 0; i < 3; i++) {
			if (strcasecmp(s, yes[i]) == 0) {
				*out = 1;
				return 0;
			}
			if (strcasecmp(s, no[i]) == 0) {
				*out = 0;
				return 0;
			}
		}
	}
	describe(n, got, sizeof got);
	return err_node(l, n, path, "expected a boolean (true/false, yes/no, on/off), got %s", got);
}

/* Decimal integer syntax: optional '-', digits, no '+', '_', '0x', exponent or
 * fraction. Returns -1 if not an integer, 1 if it has too many digits for any range,
 * else 0; *leading_zero is set for "007" (YAML 1.1 would read 010 as octal 8). */
static int dec_syntax(const char *s, size_t len, int *leading_zero)
{
	size_t i = (len > 0 && s[0] == '-') ? 1 : 0, j;

	*leading_zero = 0;
	if (i >= len)
		return -1;
	for (j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return -1;
	if (s[i] == '0' && len - i > 1)
		*leading_zero = 1;
	return len - i > 18 ? 1 : 0;
}

static int v_int(struct ld *l, yaml_node_t *n, const char *path, long long min, long long max,
		 const char *why, int *out)
{
	char got[SHOW_MAX * 4 + 32];
	const char *s;
	size_t len;
	int lz, r;
	long long v;

	if (!is_plain(n))
		goto bad;
	s = scalar_text(n);
	len = scalar_len(n);
	r = dec_syntax(s, len, &lz);
	if (r < 0)
		goto bad;
	if (lz) {
		describe(n, got, sizeof got);
		return err_node(l, n, path,
				"expected a decimal integer from %lld to %lld without leading "
				"zeros (YAML reads them as octal), got %s",
				min, max, got);
	}
	if (r > 0) { /* too many digits for any range */
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an integer from %lld to %lld, got %s%s", min,
				max, got, why ? why : "");
	}
	v = strtoll(s, NULL, 10);
	if (v < min || v > max) {
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an integer from %lld to %lld, got %lld%s", min,
				max, v, why ? why : "");
	}
	*out = (int)v;
	return 0;
bad:
	describe(n, got, sizeof got);
	return err_node(l, n, path, "expected an integer from %lld to %lld, got %s", min, max, got);
}

#define S_NONEMPTY 1u /* empty / null refused */
#define S_NULL_EMPTY 2u /* YAML null (~, null, empty) reads as "" */

static int v_str(struct ld *l, yaml_node_t *n, const char *path, unsigned flags, char *out,
		 size_t outsz)
{
	char got[SHOW_MAX * 4 + 32];
	const char *s;
	size_t len, i;

	if (n->type != YAML_SCALAR_NODE) {
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected a string, got %s", got);
	}
	s = scalar_text(n);
	len = scalar_len(n);
	if ((flags & S_NULL_EMPTY) && is_null(n)) {
		s = "";
		len = 0;
	}
	if (len == 0 && (flags & S_NONEMPTY))
		return err_node(l, n, path, "expected a non-empty string, got an empty value");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected a string without control characters, got %s",
					got);
		}
	}
	if (len >= outsz) {
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected at most %zu characters, got %zu: %s",
				outsz - 1, len, got);
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* Field shortcuts: look the key up, convert if present. Return 1 present, 0 absent,
 * -1 error. `np` (optional) receives the value node. */
static int f_bool(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
		  int *out)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = get(l, map, mpath, key, req, &n, path, sizeof path);

	if (r <= 0)
		return r;
	TRY(v_bool(l, n, path, out));
	return 1;
}

static int f_int(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
		 long long min, long long max, int *out, yaml_node_t **np)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = get(l, map, mpath, key, req, &n, path, sizeof path);

	if (np)
		*np = n;
	if (r <= 0)
		return r;
	TRY(v_int(l, n, path, min, max, NULL, out));
	return 1;
}

static int f_str(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
		 unsigned flags, char *out, size_t outsz, yaml_node_t **np)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = get(l, map, mpath, key, req, &n, path, sizeof path);

	if (np)
		*np = n;
	if (r <= 0)
		return r;
	TRY(v_str(l, n, path, flags, out, outsz));
	return 1;
}

/* ------------------------------------------------------------------------- */
/* addresses                                                                  */

static int fam_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void addr_format(struct cfg_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, a->addr, buf, sizeof buf))
		buf[0] = '\0';
	if (a->prefix >= 0)
		snprintf(a->text, sizeof a->text, "%s/%d", buf, a->prefix);
	else
		snprintf(a->text, sizeof a->text, "%s", buf);
}

/* Parse "addr" or "addr/prefix" (IPv4 or IPv6). 0 ok, -1 bad syntax. */
static int addr_parse(const char *s, struct cfg_addr *a)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	memset(a, 0, sizeof *a);
	a->prefix = -1;
	if (alen == 0 || alen >= sizeof buf)
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
	else
		return -1;
	if (slash) {
		const char *p = slash + 1;
		size_t plen = strlen(p), i;
		int v = 0;

		if (plen == 0 || plen > 3 || (p[0] == '0' && plen > 1))
			return -1;
		for (i = 0; i < plen; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			v = v * 10 + (p[i] - '0');
		}
		if (v > fam_len(a->family) * 8)
			return -1;
		a->prefix = v;
	}
	a->set = 1;
	addr_format(a);
	return 0;
}

static uint8_t prefix_mask(int prefix, int byte)
{
	int b = prefix - byte * 8;

	if (b >= 8)
		return 0xff;
	if (b <= 0)
		return 0;
	return (uint8_t)(0xff << (8 - b));
}

static int host_bits_zero(const struct cfg_addr *a)
{
	int i;

	for (i = 0; i < fam_len(a->family); i++)
		if (a->addr[i] & (uint8_t)~prefix_mask(a->prefix, i))
			return 0;
	return 1;
}

static int addr_cmp(const uint8_t *a, const uint8_t *b, int len)
{
	return memcmp(a, b, (size_t)len);
}

/* Add n to a big-endian number; -1 on overflow. */
static int addr_add(uint8_t *a, int len, uint64_t n)
{
	int i;
	unsigned carry = 0;

	for (i = len - 1; i >= 0; i--) {
		unsigned v = a[i] + (unsigned)(n & 0xff) + carry;

		a[i] = (uint8_t)v;
		carry = v >> 8;
		n >>= 8;
	}
	return (n || carry) ? -1 : 0;
}

/* Usable host range of a network, as Python's ipaddress .hosts(): IPv4 without the
 * network and broadcast addresses (all of a /31 and /32), IPv6 without the
 * subnet-router anycast address (all of a /127 and /128). */
static void net_hosts(const struct cfg_addr *net, uint8_t first[16], uint8_t last[16])
{
	int len = fam_len(net->family), i;
	int host_bits = len * 8 - net->prefix;

	memset(first, 0, 16);
	memset(last, 0, 16);
	for (i = 0; i < len; i++) {
		uint8_t m = prefix_mask(net->prefix, i);

		first[i] = net->addr[i] & m;
		last[i] = (uint8_t)(first[i] | (uint8_t)~m);
	}
	if (host_bits >= 2) {
		(void)addr_add(first, len, 1);
		if (net->family == AF_INET) { /* last - 1: the broadcast address is last */
			for (i = len - 1; i >= 0; i--) {
				if (last[i]--)
					break;
			}
		}
	}
}

static int addr_is_host_of(const struct cfg_addr *a, const struct cfg_addr *net)
{
	uint8_t first[16], last[16];
	int len;

	if (!a->set || !net->set || a->family != net->family)
		return 0;
	len = fam_len(net->family);
	net_hosts(net, first, last);
	return addr_cmp(a->addr, first, len) >= 0 && addr_cmp(a->addr, last, len) <= 0;
}

/* The n-th (1-based) usable host address of `net`, with the network's prefix. */
static int addr_nth_host(const struct cfg_addr *net, long n, struct cfg_addr *out)
{
	uint8_t first[16], last[16];
	int len = fam_len(net->family);

	if (n < 1)
		return -1;
	net_hosts(net, first, last);
	if (addr_add(first, len, (uint64_t)(n - 1)) < 0 || addr_cmp(first, last, len) > 0)
		return -1;
	memset(out, 0, sizeof *out);
	out->set = 1;
	out->family = net->family;
	memcpy(out->addr, first, 16);
	out->prefix = net->prefix;
	addr_format(out);
	return 0;
}

/* The network part of an address/prefix, for "did you mean" hints. */
static void addr_network_of(const struct cfg_addr *a, struct cfg_addr *out)
{
	int i;

	*out = *a;
	for (i = 0; i < 16; i++)
		out->addr[i] = i < fam_len(a->family) ? (uint8_t)(a->addr[i] & prefix_mask(a->prefix, i)) : 0;
	addr_format(out);
}

/* A network in CIDR notation. */
static int v_cidr(struct ld *l, yaml_node_t *n, const char *path, struct cfg_addr *out)
{
	char text[80], got[SHOW_MAX * 4 + 32];
	struct cfg_addr a;

	TRY(v_str(l, n, path, S_NONEMPTY, text, sizeof text));
	if (addr_parse(text, &a) < 0 || a.prefix < 0) {
		describe(n, got, sizeof got);
		return err_node(l, n, path,
				"expected a network in CIDR notation (e.g. 10.0.0.0/24 or "
				"fd00::/64), got %s",
				got);
	}
	if (a.prefix == 0)
		return err_node(l, n, path, "expected a network with a prefix length of at least 1, got %s",
				a.text);
	if (!host_bits_zero(&a)) {
		struct cfg_addr net;

		addr_network_of(&a, &net);
		return err_node(l, n, path,
				"host bits are set in \"%s\": a network address must end in zero "
				"bits (did you mean %s?)",
				text, net.text);
	}
	*out = a;
	return 0;
}

/* An address inside `net` that must be a usable host address. prefix_mode:
 * 1 = "/prefix" required and equal to the network's, 0 = optional (if present,
 * equal). `net` may be unset (networking disabled and network absent): then only
 * the syntax is checked. */
static int v_host_addr(struct ld *l, yaml_node_t *n, const char *path, const struct cfg_addr *net,
		       const char *netpath, int prefix_required, struct cfg_addr *out)
{
	char text[80], got[SHOW_MAX * 4 + 32];
	struct cfg_addr a;

	TRY(v_str(l, n, path, S_NONEMPTY, text, sizeof text));
	if (addr_parse(text, &a) < 0) {
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an IP address%s, got %s",
				prefix_required ? " with /prefix (e.g. 10.0.0.254/24)" : "", got);
	}
	if (prefix_required && a.prefix < 0) {
		if (net->set)
			return err_node(l, n, path,
					"expected an address with the network's prefix (e.g. "
					"%s/%d), got \"%s\" without /prefix",
					text, net->prefix, text);
		return err_node(l, n, path,
				"expected an address with /prefix (e.g. %s/24), got \"%s\" without /prefix",
				text, text);
	}
	if (net->set) {
		if (a.family != net->family)
			return err_node(l, n, path,
					"address %s is not of the same IP version as the network "
					"%s (%s)",
					a.text, net->text, netpath);
		if (a.prefix >= 0 && a.prefix != net->prefix)
			return err_node(l, n, path,
					"prefix /%d of %s differs from the prefix /%d of the network "
					"%s (%s)",
					a.prefix, a.text, net->prefix, net->text, netpath);
		if (!addr_is_host_of(&a, net))
			return err_node(l, n, path,
					"%s is not a usable host address of the network %s (%s)",
					a.text, net->text, netpath);
	}
	*out = a;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* other value kinds                                                          */

/* Linux interface name: 1..15 characters of [A-Za-z0-9._-], not "." or "..". */
static int v_ifname(struct ld *l, yaml_node_t *n, const char *path, char out[CFG_IFNAME_MAX])
{
	char got[SHOW_MAX * 4 + 32];
	const char *s;
	size_t len, i;

	if (n->type != YAML_SCALAR_NODE)
		goto bad;
	s = scalar_text(n);
	len = scalar_len(n);
	if (len < 1 || len > CFG_IFNAME_MAX - 1 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		goto bad;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			goto bad;
	}
	memcpy(out, s, len + 1);
	return 0;
bad:
	describe(n, got, sizeof got);
	return err_node(l, n, path,
			"expected a network device name of 1 to %d characters from "
			"[A-Za-z0-9._-], got %s",
			CFG_IFNAME_MAX - 1, got);
}

/* An absolute directory; trailing slashes are dropped ("/" stays). */
static int v_dir(struct ld *l, yaml_node_t *n, const char *path, char out[CFG_PATH_MAX])
{
	char got[SHOW_MAX * 4 + 32], tmp[CFG_PATH_MAX];
	size_t len;
	/* room for the derived sub-paths (<dir>/dnsmasq/<vni>/..., <dir>/pvc.log) */
	const size_t maxlen = CFG_PATH_MAX - 64;

	TRY(v_str(l, n, path, S_NONEMPTY, tmp, sizeof tmp));
	if (tmp[0] != '/') {
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an absolute path (starting with /), got %s", got);
	}
	len = strlen(tmp);
	while (len > 1 && tmp[len - 1] == '/')
		tmp[--len] = '\0';
	if (len > maxlen) {
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an absolute path of at most %zu characters, got %s",
				maxlen, got);
	}
	memcpy(out, tmp, len + 1);
	return 0;
}

/* One of a fixed set of words; stored as listed in `canon` (same index). */
static int v_choice(struct ld *l, yaml_node_t *n, const char *path, const char *const *words,
		    const char *const *canon, const char *expect, char *out, size_t outsz)
{
	char got[SHOW_MAX * 4 + 32];
	size_t i;

	if (n->type == YAML_SCALAR_NODE) {
		for (i = 0; words[i]; i++) {
			if (scalar_is(n, words[i])) {
				if (copy_str(out, outsz, canon[i]) < 0)
					break;
				return 0;
			}
		}
	}
	describe(n, got, sizeof got);
	return err_node(l, n, path, "expected %s, got %s", expect, got);
}

/* A URI template that may contain the placeholders {node} and {domain} only. */
static int v_uri_template(struct ld *l, yaml_node_t *n, const char *path, char *out, size_t outsz)
{
	const char *p;

	TRY(v_str(l, n, path, S_NONEMPTY, out, outsz));
	for (p = out; *p; p++) {
		if (*p == ' ')
			return err_node(l, n, path, "expected a URI without spaces, got \"%s\"", out);
		if (*p == '{') {
			if (strncmp(p, "{node}", 6) == 0)
				p += 5;
			else if (strncmp(p, "{domain}", 8) == 0)
				p += 7;
			else
				return err_node(l, n, path,
						"unknown placeholder at \"%.20s\": only {node} and "
						"{domain} are substituted",
						p);
		} else if (*p == '}') {
			return err_node(l, n, path, "unbalanced \"}\" in \"%s\"", out);
		}
	}
	return 0;
}

/* ZooKeeper connect string: host:port[,host:port...] (IPv6 as [addr]:port). */
static int zk_hosts_valid(const char *s)
{
	const char *p = s;

	if (!*s)
		return 0;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *colon = NULL;
		size_t i, hostlen;
		long port = 0;

		if (len == 0)
			return 0;
		for (i = 0; i < len; i++)
			if (p[i] == ':')
				colon = p + i;
		if (!colon)
			return 0;
		hostlen = (size_t)(colon - p);
		if (hostlen == 0)
			return 0;
		for (i = 0; i < hostlen; i++) {
			char c = p[i];

			if (!(isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' || c == ':' ||
			      c == '[' || c == ']'))
				return 0;
		}
		if (colon + 1 == p + len || p + len - (colon + 1) > 5)
			return 0;
		for (const char *q = colon + 1; q < p + len; q++) {
			if (*q < '0' || *q > '9')
				return 0;
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535)
			return 0;
		p += len;
		if (*p == ',') {
			p++;
			if (!*p)
				return 0;
		}
	}
	return 1;
}

static int valid_user_name(const char *s)
{
	size_t i, len = strlen(s);

	if (len < 1 || len > 32)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      (c == '$' && i == len - 1)))
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------------- */
/* sections                                                                   */

static const char *const K_ROOT[] = { "pvc", NULL };
static const char *const K_PVC[] = { "node", "debug", "functions", "cluster", "coordinator",
				     "system", NULL };
static const char *const K_FUNCTIONS[] = { "enable_hypervisor", "enable_networking",
					   "enable_storage", "enable_api", NULL };
static const char *const K_CLUSTER[] = { "coordinators", "networks", "zookeeper", NULL };
static const char *const K_NETWORKS[] = { "upstream", "cluster", "storage", NULL };
static const char *const K_NET_UPSTREAM[] = { "domain", "network", "floating_ip", "gateway", NULL };
static const char *const K_NET[] = { "domain", "network", "floating_ip", NULL };
static const char *const K_ZOOKEEPER[] = { "hosts", "session_timeout_ms", NULL };
static const char *const K_COORDINATOR[] = { "dns", "metadata", NULL };
static const char *const K_DBWRAP[] = { "database", NULL };
static const char *const K_DB[] = { "host", "port", "name", "user", "pass", NULL };
static const char *const K_SYSTEM[] = { "intervals", "fencing", "migration", "configuration",
					"libvirt", "flush", "supervisor", NULL };
static const char *const K_INTERVALS[] = { "keepalive_interval", "fence_intervals",
					   "suicide_intervals", NULL };
static const char *const K_FENCING[] = { "actions", "ipmi", NULL };
static const char *const K_ACTIONS[] = { "successful_fence", "failed_fence", NULL };
static const char *const K_IPMI[] = { "host", "user", "pass", NULL };
static const char *const K_MIGRATION[] = { "target_selector", NULL };
static const char *const K_CONFIGURATION[] = { "directories", "logging", "networking", NULL };
static const char *const K_DIRECTORIES[] = { "dynamic_directory", "log_directory",
					     "console_log_directory", NULL };
static const char *const K_LOGGING[] = { "file_logging",
					 "stdout_logging",
					 "log_colours",
					 "log_dates",
					 "log_keepalives",
					 "log_keepalive_cluster_details",
					 "log_keepalive_storage_details",
					 "console_log_lines",
					 NULL };
static const char *const K_NETWORKING[] = { "bridge_device", "upstream", "cluster", "storage",
					    NULL };
static const char *const K_IFACE[] = { "device", "mtu", "address", NULL };
static const char *const K_LIBVIRT[] = { "uri", "migration_uri", "migration_dest_uri",
					 "migration_timeout", "shutdown_timeout", NULL };
static const char *const K_FLUSH[] = { "vm_timeout", "in_flight", NULL };
static const char *const K_SUPERVISOR[] = { "user",
					    "heartbeat_interval_ms",
					    "hang_timeout_ms",
					    "restart_backoff_max_ms",
					    "healthy_reset_s",
					    "crashloop_max",
					    "crashloop_window_s",
					    NULL };

/* Node identity: pvc.node or the short host name; domain from the real host name. */
static int load_identity(struct ld *l, yaml_node_t *pvc, const char *hostname,
			 struct pvc_config *cfg)
{
	char host[256], path[KEYPATH_MAX], shortname[256];
	const char *dot, *p, *run_end = NULL, *run_start;
	yaml_node_t *n;
	long long id = 1;
	int r;

	if (hostname) {
		snprintf(host, sizeof host, "%s", hostname);
	} else {
		if (gethostname(host, sizeof host) < 0)
			return err_node(l, pvc, "pvc.node", "cannot determine the host name: %s",
					strerror(errno));
		host[sizeof host - 1] = '\0';
	}
	dot = strchr(host, '.');
	snprintf(shortname, sizeof shortname, "%.*s", dot ? (int)(dot - host) : (int)strlen(host),
		 host);
	if (copy_str(cfg->domain_name, sizeof cfg->domain_name, dot ? dot + 1 : "") < 0)
		return err_node(l, pvc, "pvc.node", "the host's domain name \"%.40s...\" is too long",
				dot + 1);

	r = get(l, pvc, "pvc", "node", 0, &n, path, sizeof path);
	TRY(r);
	if (r) {
		char got[SHOW_MAX * 4 + 32];

		if (n->type != YAML_SCALAR_NODE || scalar_len(n) >= sizeof cfg->node_name ||
		    strlen(scalar_text(n)) != scalar_len(n) || !valid_node_name(scalar_text(n))) {
			describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected a node name (1 to 63 characters of "
					"[A-Za-z0-9_.-], not starting with '.' or '-'), got %s",
					got);
		}
		memcpy(cfg->node_name, scalar_text(n), scalar_len(n) + 1);
	} else {
		char shown[SHOW_MAX * 4 + 8];

		if (strlen(shortname) >= sizeof cfg->node_name || !valid_node_name(shortname)) {
			show(shown, sizeof shown, shortname, strlen(shortname));
			return err_node(l, pvc, path,
					"not set, and the short host name \"%s\" is not a valid node "
					"name; set pvc.node",
					shown);
		}
		memcpy(cfg->node_name, shortname, strlen(shortname) + 1);
	}

	/* node id: the last run of decimal digits, else 1 */
	for (p = cfg->node_name; *p; p++)
		if (*p >= '0' && *p <= '9')
			run_end = p + 1;
	if (run_end) {
		run_start = run_end;
		while (run_start > cfg->node_name && run_start[-1] >= '0' && run_start[-1] <= '9')
			run_start--;
		while (run_start < run_end - 1 && *run_start == '0')
			run_start++;
		if (run_end - run_start > 6)
			return err_node(l, r ? n : pvc, path,
					"the node id (the last number in the node name \"%s\") must "
					"be at most 999999",
					cfg->node_name);
		id = 0;
		for (p = run_start; p < run_end; p++)
			id = id * 10 + (*p - '0');
	}
	cfg->node_id = (int)id;
	return 0;
}

static int load_coordinators(struct ld *l, yaml_node_t *cluster, struct pvc_config *cfg)
{
	char path[KEYPATH_MAX], got[SHOW_MAX * 4 + 32];
	yaml_node_t *n;
	yaml_node_item_t *it;
	int i;

	TRY(get(l, cluster, "pvc.cluster", "coordinators", 1, &n, path, sizeof path));
	if (!n)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE) {
		describe(n, got, sizeof got);
		return err_node(l, n, path, "expected a list of coordinator node names, got %s", got);
	}
	if (n->data.sequence.items.top == n->data.sequence.items.start)
		return err_node(l, n, path,
				"expected a non-empty list of coordinator node names, got an "
				"empty list");
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *c = node_at(l, *it);
		char ipath[KEYPATH_MAX + 16];
		int idx = (int)(it - n->data.sequence.items.start);

		snprintf(ipath, sizeof ipath, "%s[%d]", path, idx);
		if (!c)
			return err_node(l, n, ipath, "malformed list");
		if (idx >= CFG_MAX_COORDINATORS)
			return err_node(l, c, ipath, "at most %d coordinators are supported",
					CFG_MAX_COORDINATORS);
		if (c->type != YAML_SCALAR_NODE || scalar_len(c) >= CFG_NAME_MAX ||
		    strlen(scalar_text(c)) != scalar_len(c) || !valid_node_name(scalar_text(c))) {
			describe(c, got, sizeof got);
			return err_node(l, c, ipath,
					"expected a node name (1 to 63 characters of "
					"[A-Za-z0-9_.-], not starting with '.' or '-'), got %s",
					got);
		}
		for (i = 0; i < cfg->coordinator_count; i++)
			if (strcmp(cfg->coordinators[i], scalar_text(c)) == 0)
				return err_node(l, c, ipath,
						"duplicate coordinator \"%s\" (also item %d)",
						scalar_text(c), i);
		memcpy(cfg->coordinators[cfg->coordinator_count], scalar_text(c), scalar_len(c) + 1);
		cfg->coordinator_count++;
	}
	for (i = 0; i < cfg->coordinator_count; i++)
		if (strcmp(cfg->coordinators[i], cfg->node_name) == 0)
			cfg->is_coordinator = 1;
	return 0;
}

static int load_network(struct ld *l, yaml_node_t *nets, const char *which, int req,
			struct cfg_network *out)
{
	char mpath[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *map, *n;
	int upstream = strcmp(which, "upstream") == 0;
	int r;

	TRY(f_map(l, nets, "pvc.cluster.networks", which, req, upstream ? K_NET_UPSTREAM : K_NET,
		  &map, mpath, sizeof mpath));
	if (!map)
		return 0;
	TRY(f_str(l, map, mpath, "domain", req, S_NULL_EMPTY, out->domain, sizeof out->domain, NULL));

	r = get(l, map, mpath, "network", req, &n, path, sizeof path);
	TRY(r);
	if (r)
		TRY(v_cidr(l, n, path, &out->network));
	{
		char netpath[KEYPATH_MAX];

		path_join(netpath, sizeof netpath, mpath, "network");
		r = get(l, map, mpath, "floating_ip", req, &n, path, sizeof path);
		TRY(r);
		if (r)
			TRY(v_host_addr(l, n, path, &out->network, netpath, 1, &out->floating_ip));
		if (upstream) {
			r = get(l, map, mpath, "gateway", req, &n, path, sizeof path);
			TRY(r);
			if (r && !is_null(n) && !scalar_is(n, "None") && !scalar_is(n, "none") &&
			    !scalar_is(n, "")) {
				TRY(v_host_addr(l, n, path, &out->network, netpath, 0, &out->gateway));
				/* a gateway is an address: keep "a.b.c.d" even if "/nn" was given */
				out->gateway.prefix = -1;
				addr_format(&out->gateway);
			}
		}
	}
	return 0;
}

static int load_db(struct ld *l, yaml_node_t *coord, const char *which, int req, struct cfg_db *db)
{
	char p1[KEYPATH_MAX], p2[KEYPATH_MAX];
	yaml_node_t *m1, *m2;

	TRY(f_map(l, coord, "pvc.coordinator", which, req, K_DBWRAP, &m1, p1, sizeof p1));
	TRY(f_map(l, m1, p1, "database", req, K_DB, &m2, p2, sizeof p2));
	if (!m2)
		return 0;
	TRY(f_str(l, m2, p2, "host", 1, S_NONEMPTY, db->host, sizeof db->host, NULL));
	TRY(f_int(l, m2, p2, "port", 1, 1, 65535, &db->port, NULL));
	TRY(f_str(l, m2, p2, "name", 1, S_NONEMPTY, db->name, sizeof db->name, NULL));
	TRY(f_str(l, m2, p2, "user", 1, S_NONEMPTY, db->user, sizeof db->user, NULL));
	TRY(f_str(l, m2, p2, "pass", 1, 0, db->pass, sizeof db->pass, NULL));
	return 0;
}

static int load_cluster(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg)
{
	char cpath[KEYPATH_MAX], npath[KEYPATH_MAX], zpath[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *cluster, *nets, *zk, *n;
	int net = cfg->enable_networking, r, i;

	TRY(f_map(l, pvc, "pvc", "cluster", 1, K_CLUSTER, &cluster, cpath, sizeof cpath));
	TRY(load_coordinators(l, cluster, cfg));

	TRY(f_map(l, cluster, cpath, "networks", net, K_NETWORKS, &nets, npath, sizeof npath));
	TRY(load_network(l, nets, "upstream", net, &cfg->upstream));
	TRY(load_network(l, nets, "cluster", net, &cfg->cluster));
	TRY(load_network(l, nets, "storage", net, &cfg->storage));

	TRY(f_map(l, cluster, cpath, "zookeeper", 0, K_ZOOKEEPER, &zk, zpath, sizeof zpath));
	/* hosts: absent or empty -> every coordinator with port 2181 */
	r = get(l, zk, zpath, "hosts", 0, &n, path, sizeof path);
	TRY(r);
	if (r) {
		TRY(v_str(l, n, path, S_NULL_EMPTY, cfg->zk_hosts, sizeof cfg->zk_hosts));
		if (cfg->zk_hosts[0] && !zk_hosts_valid(cfg->zk_hosts)) {
			char got[SHOW_MAX * 4 + 32];

			describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected a ZooKeeper connect string host:port[,host:port...] "
					"(e.g. pvchv1:2181,pvchv2:2181), got %s",
					got);
		}
	}
	if (!cfg->zk_hosts[0]) {
		size_t o = 0;

		for (i = 0; i < cfg->coordinator_count; i++) {
			int w = snprintf(cfg->zk_hosts + o, sizeof cfg->zk_hosts - o, "%s%s:%d",
					 i ? "," : "", cfg->coordinators[i], DEF_ZK_PORT);

			if (w < 0 || (size_t)w >= sizeof cfg->zk_hosts - o)
				return err_node(l, cluster, path,
						"the default connect string built from the "
						"coordinators is too long; set it explicitly");
			o += (size_t)w;
		}
	}
	cfg->zk_session_timeout_ms = DEF_ZK_SESSION_TIMEOUT_MS;
	TRY(f_int(l, zk, zpath, "session_timeout_ms", 0, 3000, 60000, &cfg->zk_session_timeout_ms,
		  NULL));
	return 0;
}

static int load_iface(struct ld *l, yaml_node_t *nw, const char *which, int req,
		      const struct cfg_network *netw, const char *netname, struct cfg_iface *out,
		      int node_id)
{
	char mpath[KEYPATH_MAX], path[KEYPATH_MAX], netpath[KEYPATH_MAX];
	yaml_node_t *map, *n;

	TRY(f_map(l, nw, "pvc.system.configuration.networking", which, req, K_IFACE, &map, mpath,
		  sizeof mpath));
	if (!map)
		return 0;
	snprintf(netpath, sizeof netpath, "pvc.cluster.networks.%s.network", netname);

	TRY(need(l, map, mpath, "device", &n, path, sizeof path));
	TRY(v_ifname(l, n, path, out->device));
	TRY(f_int(l, map, mpath, "mtu", 1, 576, 65535, &out->mtu, NULL));

	TRY(need(l, map, mpath, "address", &n, path, sizeof path));
	if (scalar_is(n, "None") || scalar_is(n, "none")) {
		memset(&out->address, 0, sizeof out->address);
		out->address.prefix = -1;
	} else if (scalar_is(n, "by-id")) {
		if (!netw->network.set)
			return err_node(l, n, path, "by-id needs %s, which is not set", netpath);
		if (addr_nth_host(&netw->network, node_id, &out->address) < 0)
			return err_node(l, n, path,
					"by-id: node id %d has no usable host address in %s (%s): "
					"the network is too small",
					node_id, netw->network.text, netpath);
	} else {
		char got[SHOW_MAX * 4 + 32];

		if (n->type != YAML_SCALAR_NODE || is_null(n)) {
			describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected None, by-id or an address/prefix, got %s", got);
		}
		TRY(v_host_addr(l, n, path, &netw->network, netpath, 1, &out->address));
	}
	return 0;
}

static int load_system(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg)
{
	static const char *const actions[] = { "migrate", "None", "none", NULL };
	static const char *const actions_c[] = { "migrate", "None", "None", NULL };
	static const char *const selectors[] = { "mem", "load", "vcpus", "vms", NULL };
	char spath[KEYPATH_MAX], p1[KEYPATH_MAX], p2[KEYPATH_MAX], p3[KEYPATH_MAX],
		path[KEYPATH_MAX];
	yaml_node_t *sys, *m1, *m2, *m3, *n, *sn, *hn, *hbn;
	int net = cfg->enable_networking, r;

	TRY(f_map(l, pvc, "pvc", "system", 1, K_SYSTEM, &sys, spath, sizeof spath));

	/* intervals */
	TRY(f_map(l, sys, spath, "intervals", 1, K_INTERVALS, &m1, p1, sizeof p1));
	TRY(f_int(l, m1, p1, "keepalive_interval", 1, 1, 3600, &cfg->keepalive_interval, NULL));
	TRY(need(l, m1, p1, "fence_intervals", &n, path, sizeof path));
	TRY(v_int(l, n, path, 1, 1000,
		  " (0 would make every running node look dead at once and be fenced; it does "
		  "not disable fencing)",
		  &cfg->fence_intervals));
	TRY(f_int(l, m1, p1, "suicide_intervals", 1, 0, 1000, &cfg->suicide_intervals, &sn));
	if (cfg->suicide_intervals != 0 && cfg->suicide_intervals + 1 > cfg->fence_intervals) {
		path_join(path, sizeof path, p1, "suicide_intervals");
		return err_node(l, sn, path,
				"must be 0 (off) or at most fence_intervals - 1 = %d, got %d: a node "
				"must fence itself at least one keepalive interval before its peers "
				"may declare it dead and recover its VMs elsewhere",
				cfg->fence_intervals - 1, cfg->suicide_intervals);
	}

	/* fencing */
	TRY(f_map(l, sys, spath, "fencing", 1, K_FENCING, &m1, p1, sizeof p1));
	TRY(f_map(l, m1, p1, "actions", 1, K_ACTIONS, &m2, p2, sizeof p2));
	TRY(need(l, m2, p2, "successful_fence", &n, path, sizeof path));
	TRY(v_choice(l, n, path, actions, actions_c, "\"migrate\" or \"None\"",
		     cfg->successful_fence, sizeof cfg->successful_fence));
	TRY(need(l, m2, p2, "failed_fence", &n, path, sizeof path));
	TRY(v_choice(l, n, path, actions, actions_c, "\"migrate\" or \"None\"", cfg->failed_fence,
		     sizeof cfg->failed_fence));
	TRY(f_map(l, m1, p1, "ipmi", 1, K_IPMI, &m2, p2, sizeof p2));
	TRY(f_str(l, m2, p2, "host", 1, S_NULL_EMPTY, cfg->ipmi_host, sizeof cfg->ipmi_host, &hn));
	if (!cfg->ipmi_host[0]) {
		int w;

		if (cfg->domain_name[0])
			w = snprintf(cfg->ipmi_host, sizeof cfg->ipmi_host, "%s-lom.%s",
				     cfg->node_name, cfg->domain_name);
		else
			w = snprintf(cfg->ipmi_host, sizeof cfg->ipmi_host, "%s-lom",
				     cfg->node_name);
		if (w < 0 || (size_t)w >= sizeof cfg->ipmi_host) {
			path_join(path, sizeof path, p2, "host");
			return err_node(l, hn, path,
					"empty, and the default <node>-lom.<domain> is too long; set it");
		}
	}
	TRY(f_str(l, m2, p2, "user", 1, S_NULL_EMPTY, cfg->ipmi_user, sizeof cfg->ipmi_user, NULL));
	TRY(f_str(l, m2, p2, "pass", 1, S_NULL_EMPTY, cfg->ipmi_pass, sizeof cfg->ipmi_pass, NULL));

	/* migration */
	TRY(f_map(l, sys, spath, "migration", 1, K_MIGRATION, &m1, p1, sizeof p1));
	TRY(need(l, m1, p1, "target_selector", &n, path, sizeof path));
	TRY(v_choice(l, n, path, selectors, selectors, "one of mem, load, vcpus, vms",
		     cfg->target_selector, sizeof cfg->target_selector));

	/* configuration */
	TRY(f_map(l, sys, spath, "configuration", 1, K_CONFIGURATION, &m1, p1, sizeof p1));
	TRY(f_map(l, m1, p1, "directories", 1, K_DIRECTORIES, &m2, p2, sizeof p2));
	TRY(need(l, m2, p2, "dynamic_directory", &n, path, sizeof path));
	TRY(v_dir(l, n, path, cfg->dynamic_directory));
	TRY(need(l, m2, p2, "log_directory", &n, path, sizeof path));
	TRY(v_dir(l, n, path, cfg->log_directory));
	TRY(need(l, m2, p2, "console_log_directory", &n, path, sizeof path));
	TRY(v_dir(l, n, path, cfg->console_log_directory));

	TRY(f_map(l, m1, p1, "logging", 1, K_LOGGING, &m2, p2, sizeof p2));
	TRY(f_bool(l, m2, p2, "file_logging", 1, &cfg->file_logging));
	TRY(f_bool(l, m2, p2, "stdout_logging", 1, &cfg->stdout_logging));
	TRY(f_bool(l, m2, p2, "log_colours", 1, &cfg->log_colours));
	TRY(f_bool(l, m2, p2, "log_dates", 1, &cfg->log_dates));
	TRY(f_bool(l, m2, p2, "log_keepalives", 1, &cfg->log_keepalives));
	TRY(f_bool(l, m2, p2, "log_keepalive_cluster_details", 1,
		   &cfg->log_keepalive_cluster_details));
	TRY(f_bool(l, m2, p2, "log_keepalive_storage_details", 1,
		   &cfg->log_keepalive_storage_details));
	TRY(f_int(l, m2, p2, "console_log_lines", 1, 0, 100000, &cfg->console_log_lines, NULL));

	TRY(f_map(l, m1, p1, "networking", net, K_NETWORKING, &m2, p2, sizeof p2));
	r = get(l, m2, p2, "bridge_device", net, &n, path, sizeof path);
	TRY(r);
	if (r)
		TRY(v_ifname(l, n, path, cfg->bridge_device));
	TRY(load_iface(l, m2, "upstream", net, &cfg->upstream, "upstream", &cfg->if_upstream,
		       cfg->node_id));
	TRY(load_iface(l, m2, "cluster", net, &cfg->cluster, "cluster", &cfg->if_cluster,
		       cfg->node_id));
	TRY(load_iface(l, m2, "storage", net, &cfg->storage, "storage", &cfg->if_storage,
		       cfg->node_id));

	/* libvirt (added) */
	TRY(f_map(l, sys, spath, "libvirt", 0, K_LIBVIRT, &m1, p1, sizeof p1));
	snprintf(cfg->libvirt_uri, sizeof cfg->libvirt_uri, "%s", DEF_LIBVIRT_URI);
	snprintf(cfg->migration_uri, sizeof cfg->migration_uri, "%s", DEF_MIGRATION_URI);
	snprintf(cfg->migration_dest_uri, sizeof cfg->migration_dest_uri, "%s",
		 DEF_MIGRATION_DEST_URI);
	cfg->migration_timeout = DEF_MIGRATION_TIMEOUT;
	cfg->vm_shutdown_timeout = DEF_SHUTDOWN_TIMEOUT;
	r = get(l, m1, p1, "uri", 0, &n, path, sizeof path);
	TRY(r);
	if (r)
		TRY(v_uri_template(l, n, path, cfg->libvirt_uri, sizeof cfg->libvirt_uri));
	r = get(l, m1, p1, "migration_uri", 0, &n, path, sizeof path);
	TRY(r);
	if (r)
		TRY(v_uri_template(l, n, path, cfg->migration_uri, sizeof cfg->migration_uri));
	r = get(l, m1, p1, "migration_dest_uri", 0, &n, path, sizeof path);
	TRY(r);
	if (r)
		TRY(v_uri_template(l, n, path, cfg->migration_dest_uri,
				   sizeof cfg->migration_dest_uri));
	TRY(f_int(l, m1, p1, "migration_timeout", 0, 10, 86400, &cfg->migration_timeout, NULL));
	TRY(f_int(l, m1, p1, "shutdown_timeout", 0, 1, 3600, &cfg->vm_shutdown_timeout, NULL));

	/* flush (added) */
	TRY(f_map(l, sys, spath, "flush", 0, K_FLUSH, &m1, p1, sizeof p1));
	cfg->flush_vm_timeout = DEF_FLUSH_VM_TIMEOUT;
	cfg->flush_in_flight = DEF_FLUSH_IN_FLIGHT;
	TRY(f_int(l, m1, p1, "vm_timeout", 0, 10, 86400, &cfg->flush_vm_timeout, NULL));
	TRY(f_int(l, m1, p1, "in_flight", 0, 1, 64, &cfg->flush_in_flight, NULL));

	/* supervisor (added) */
	TRY(f_map(l, sys, spath, "supervisor", 0, K_SUPERVISOR, &m3, p3, sizeof p3));
	snprintf(cfg->worker_user, sizeof cfg->worker_user, "%s", DEF_WORKER_USER);
	cfg->heartbeat_interval_ms = DEF_HEARTBEAT_MS;
	cfg->hang_timeout_ms = DEF_HANG_TIMEOUT_MS;
	cfg->restart_backoff_max_ms = DEF_RESTART_BACKOFF_MAX_MS;
	cfg->healthy_reset_s = DEF_HEALTHY_RESET_S;
	cfg->crashloop_max = DEF_CRASHLOOP_MAX;
	cfg->crashloop_window_s = DEF_CRASHLOOP_WINDOW_S;
	r = get(l, m3, p3, "user", 0, &n, path, sizeof path);
	TRY(r);
	if (r) {
		TRY(v_str(l, n, path, S_NONEMPTY, cfg->worker_user, sizeof cfg->worker_user));
		if (!valid_user_name(cfg->worker_user)) {
			char got[SHOW_MAX * 4 + 32];

			describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected a system user name ([a-z_][a-z0-9_-]*, at most 32 "
					"characters), got %s",
					got);
		}
	}
	TRY(f_int(l, m3, p3, "heartbeat_interval_ms", 0, 50, 10000, &cfg->heartbeat_interval_ms,
		  &hbn));
	r = f_int(l, m3, p3, "hang_timeout_ms", 0, 100, 600000, &cfg->hang_timeout_ms, &hn);
	TRY(r);
	if (cfg->hang_timeout_ms <= 2 * cfg->heartbeat_interval_ms) {
		path_join(path, sizeof path, p3, "hang_timeout_ms");
		if (r)
			return err_node(l, hn, path,
					"must be greater than 2 x heartbeat_interval_ms = %d (a "
					"worker may miss one heartbeat without being killed), got %d",
					2 * cfg->heartbeat_interval_ms, cfg->hang_timeout_ms);
		return err_at(l, hbn ? &hbn->start_mark : m3 ? &m3->start_mark : NULL, path,
				"the default %d is not greater than 2 x heartbeat_interval_ms = %d; "
				"set hang_timeout_ms explicitly",
				cfg->hang_timeout_ms, 2 * cfg->heartbeat_interval_ms);
	}
	TRY(f_int(l, m3, p3, "restart_backoff_max_ms", 0, 100, 600000, &cfg->restart_backoff_max_ms,
		  NULL));
	TRY(f_int(l, m3, p3, "healthy_reset_s", 0, 1, 86400, &cfg->healthy_reset_s, NULL));
	TRY(f_int(l, m3, p3, "crashloop_max", 0, 1, 1000, &cfg->crashloop_max, NULL));
	TRY(f_int(l, m3, p3, "crashloop_window_s", 0, 1, 86400, &cfg->crashloop_window_s, NULL));
	return 0;
}

static int load_doc(struct ld *l, const char *hostname, struct pvc_config *cfg)
{
	char path[KEYPATH_MAX], p1[KEYPATH_MAX];
	yaml_node_t *root = yaml_document_get_root_node(l->doc), *pvc, *m1;
	int net;

	if (!root) {
		yaml_mark_t m = { 0, 0, 0 };

		return err_at(l, &m, "pvc", "missing required key (the file is empty)");
	}
	if (root->type != YAML_MAPPING_NODE) {
		char got[SHOW_MAX * 4 + 32];

		describe(root, got, sizeof got);
		return err_node(l, root, "(top level)",
				"expected a mapping with the single key \"pvc\", got %s", got);
	}
	TRY(check_map(l, root, "", K_ROOT));
	TRY(f_map(l, root, "", "pvc", 1, K_PVC, &pvc, path, sizeof path));

	TRY(load_identity(l, pvc, hostname, cfg));
	TRY(f_bool(l, pvc, "pvc", "debug", 0, &cfg->debug));

	TRY(f_map(l, pvc, "pvc", "functions", 1, K_FUNCTIONS, &m1, p1, sizeof p1));
	TRY(f_bool(l, m1, p1, "enable_hypervisor", 1, &cfg->enable_hypervisor));
	TRY(f_bool(l, m1, p1, "enable_networking", 1, &cfg->enable_networking));
	TRY(f_bool(l, m1, p1, "enable_storage", 1, &cfg->enable_storage));
	TRY(f_bool(l, m1, p1, "enable_api", 1, &cfg->enable_api));
	net = cfg->enable_networking;

	TRY(load_cluster(l, pvc, cfg));

	TRY(f_map(l, pvc, "pvc", "coordinator", net, K_COORDINATOR, &m1, p1, sizeof p1));
	TRY(load_db(l, m1, "dns", net, &cfg->dns_db));
	TRY(load_db(l, m1, "metadata", net, &cfg->metadata_db));

	TRY(load_system(l, pvc, cfg));
	return 0;
}

/* ------------------------------------------------------------------------- */
/* public API                                                                 */

static int read_file(const char *path, unsigned char **bufp, size_t *lenp, int *errnop)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;

	*errnop = 0;
	if (fd < 0) {
		*errnop = errno;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*errnop = errno;
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*errnop = EISDIR;
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			unsigned char *nb;

			if (cap >= CONFIG_MAX_BYTES) {
				*errnop = EFBIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				*errnop = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*errnop = errno;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!buf) {
		buf = malloc(1);
		if (!buf) {
			*errnop = ENOMEM;
			return -1;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

static void parser_error(struct ld *l, yaml_parser_t *p, const unsigned char *buf, size_t len)
{
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "unknown error";

	if (!l->err || !l->errlen)
		return;
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		snprintf(l->err, l->errlen, "%s: out of memory while parsing", l->file);
		return;
	case YAML_READER_ERROR: {
		/* the reader reports a byte offset: turn it into line:column */
		size_t i, off = p->problem_offset < len ? p->problem_offset : len;

		line = 1;
		col = 1;
		for (i = 0; i < off; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (p->problem_value != -1)
			snprintf(l->err, l->errlen, "%s:%zu:%zu: YAML error: %s (byte 0x%02x)", l->file,
				 line, col, problem, (unsigned)p->problem_value & 0xffu);
		else
			snprintf(l->err, l->errlen, "%s:%zu:%zu: YAML error: %s", l->file, line, col,
				 problem);
		return;
	}
	default: {
		/* scanner/parser: syntax; composer: e.g. an alias without anchor */
		const char *what = p->error == YAML_COMPOSER_ERROR ? "YAML error" : "YAML syntax error";

		if (p->context)
			snprintf(l->err, l->errlen, "%s:%zu:%zu: %s: %s %s (line %zu)", l->file, line,
				 col, what, problem, p->context, (size_t)p->context_mark.line + 1);
		else
			snprintf(l->err, l->errlen, "%s:%zu:%zu: %s: %s", l->file, line, col, what,
				 problem);
		return;
	}
	}
}

static void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

int config_load(const char *path, const char *hostname, struct pvc_config *cfg, char *err,
		size_t errlen)
{
	struct ld l = { NULL, path ? path : "(null)", err, errlen };
	yaml_parser_t parser;
	yaml_document_t doc, doc2;
	unsigned char *buf = NULL;
	size_t len = 0;
	int e, rc;

	if (err && errlen)
		err[0] = '\0';
	if (!cfg) {
		if (err && errlen)
			snprintf(err, errlen, "%s: internal error: no config buffer", l.file);
		return -1;
	}
	memset(cfg, 0, sizeof *cfg);
	if (!path) {
		if (err && errlen)
			snprintf(err, errlen, "(null): cannot open: %s", strerror(EINVAL));
		return -1;
	}
	if (read_file(path, &buf, &len, &e) < 0) {
		if (err && errlen) {
			if (e == EFBIG)
				snprintf(err, errlen, "%s: cannot open: larger than %zu bytes", path,
					 CONFIG_MAX_BYTES);
			else
				snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		}
		return -1;
	}

	if (!yaml_parser_initialize(&parser)) {
		wipe(buf, len);
		free(buf);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		parser_error(&l, &parser, buf, len);
		yaml_parser_delete(&parser);
		wipe(buf, len);
		free(buf);
		return -1;
	}
	l.doc = &doc;

	rc = 0;
	if (yaml_document_get_root_node(&doc)) {
		/* exactly one document: a second one would be silently ignored */
		if (!yaml_parser_load(&parser, &doc2)) {
			parser_error(&l, &parser, buf, len);
			rc = -1;
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&doc2);

			if (r2) {
				rc = err_at(&l, &r2->start_mark, "(top level)",
					    "expected a single YAML document, found a second one");
			}
			yaml_document_delete(&doc2);
		}
	}
	if (rc == 0) {
		if (copy_str(cfg->config_path, sizeof cfg->config_path, path) < 0) {
			if (err && errlen)
				snprintf(err, errlen, "%s: cannot open: path longer than %d characters",
					 path, CFG_PATH_MAX - 1);
			rc = -1;
		} else {
			rc = load_doc(&l, hostname, cfg);
		}
	}

	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	wipe(buf, len);
	free(buf);
	if (rc < 0) {
		wipe(cfg, sizeof *cfg);
		if (err && errlen && !err[0])
			snprintf(err, errlen, "%s: invalid configuration", path);
		return -1;
	}
	return 0;
}

const char *config_default_path(const char *cli_path)
{
	const char *env;

	if (cli_path)
		return cli_path;
	env = getenv("PVCD_CONFIG_FILE");
	if (env && env[0])
		return env;
	return CONFIG_DEFAULT_PATH;
}

void config_for_role(const struct pvc_config *cfg, int role, struct pvc_config *out)
{
	if (out != cfg)
		memcpy(out, cfg, sizeof *out);
	if (role != ROLE_ZK) {
		wipe(out->ipmi_pass, sizeof out->ipmi_pass);
		wipe(out->zk_hosts, sizeof out->zk_hosts);
	}
	if (role != ROLE_NET) {
		wipe(out->dns_db.pass, sizeof out->dns_db.pass);
		wipe(out->metadata_db.pass, sizeof out->metadata_db.pass);
	}
}

static const char *yn(int v)
{
	return v ? "True" : "False";
}

static const char *addr_or_none(const struct cfg_addr *a)
{
	return a->set ? a->text : "None";
}

static void dump_network(FILE *f, const char *name, const struct cfg_network *n, int upstream)
{
	fprintf(f, "pvc.cluster.networks.%s.domain = %s\n", name, n->domain);
	fprintf(f, "pvc.cluster.networks.%s.network = %s\n", name, addr_or_none(&n->network));
	fprintf(f, "pvc.cluster.networks.%s.floating_ip = %s\n", name,
		addr_or_none(&n->floating_ip));
	if (upstream)
		fprintf(f, "pvc.cluster.networks.%s.gateway = %s\n", name, addr_or_none(&n->gateway));
}

static void dump_db(FILE *f, const char *name, const struct cfg_db *d)
{
	fprintf(f, "pvc.coordinator.%s.database.host = %s\n", name, d->host);
	fprintf(f, "pvc.coordinator.%s.database.port = %d\n", name, d->port);
	fprintf(f, "pvc.coordinator.%s.database.name = %s\n", name, d->name);
	fprintf(f, "pvc.coordinator.%s.database.user = %s\n", name, d->user);
	fprintf(f, "pvc.coordinator.%s.database.pass = ********\n", name);
}

static void dump_iface(FILE *f, const char *name, const struct cfg_iface *i)
{
	fprintf(f, "pvc.system.configuration.networking.%s.device = %s\n", name, i->device);
	fprintf(f, "pvc.system.configuration.networking.%s.mtu = %d\n", name, i->mtu);
	fprintf(f, "pvc.system.configuration.networking.%s.address = %s\n", name,
		addr_or_none(&i->address));
}

void config_dump(const struct pvc_config *cfg, FILE *f)
{
	int i;

	fprintf(f, "config_path = %s\n", cfg->config_path);
	fprintf(f, "node.name = %s\n", cfg->node_name);
	fprintf(f, "node.domain = %s\n", cfg->domain_name);
	fprintf(f, "node.id = %d\n", cfg->node_id);
	fprintf(f, "node.mode = %s\n", cfg->is_coordinator ? "coordinator" : "hypervisor");
	fprintf(f, "pvc.debug = %s\n", yn(cfg->debug));
	fprintf(f, "pvc.functions.enable_hypervisor = %s\n", yn(cfg->enable_hypervisor));
	fprintf(f, "pvc.functions.enable_networking = %s\n", yn(cfg->enable_networking));
	fprintf(f, "pvc.functions.enable_storage = %s\n", yn(cfg->enable_storage));
	fprintf(f, "pvc.functions.enable_api = %s\n", yn(cfg->enable_api));
	fprintf(f, "pvc.cluster.coordinators = ");
	for (i = 0; i < cfg->coordinator_count && i < CFG_MAX_COORDINATORS; i++)
		fprintf(f, "%s%s", i ? "," : "", cfg->coordinators[i]);
	fprintf(f, "\n");
	if (cfg->enable_networking) {
		dump_network(f, "upstream", &cfg->upstream, 1);
		dump_network(f, "cluster", &cfg->cluster, 0);
		dump_network(f, "storage", &cfg->storage, 0);
	}
	fprintf(f, "pvc.cluster.zookeeper.hosts = %s\n", cfg->zk_hosts);
	fprintf(f, "pvc.cluster.zookeeper.session_timeout_ms = %d\n", cfg->zk_session_timeout_ms);
	if (cfg->enable_networking) {
		dump_db(f, "dns", &cfg->dns_db);
		dump_db(f, "metadata", &cfg->metadata_db);
	}
	fprintf(f, "pvc.system.intervals.keepalive_interval = %d\n", cfg->keepalive_interval);
	fprintf(f, "pvc.system.intervals.fence_intervals = %d\n", cfg->fence_intervals);
	fprintf(f, "pvc.system.intervals.suicide_intervals = %d\n", cfg->suicide_intervals);
	fprintf(f, "pvc.system.fencing.actions.successful_fence = %s\n", cfg->successful_fence);
	fprintf(f, "pvc.system.fencing.actions.failed_fence = %s\n", cfg->failed_fence);
	fprintf(f, "pvc.system.fencing.ipmi.host = %s\n", cfg->ipmi_host);
	fprintf(f, "pvc.system.fencing.ipmi.user = %s\n", cfg->ipmi_user);
	fprintf(f, "pvc.system.fencing.ipmi.pass = ********\n");
	fprintf(f, "pvc.system.migration.target_selector = %s\n", cfg->target_selector);
	fprintf(f, "pvc.system.configuration.directories.dynamic_directory = %s\n",
		cfg->dynamic_directory);
	fprintf(f, "pvc.system.configuration.directories.log_directory = %s\n", cfg->log_directory);
	fprintf(f, "pvc.system.configuration.directories.console_log_directory = %s\n",
		cfg->console_log_directory);
	fprintf(f, "pvc.system.configuration.logging.file_logging = %s\n", yn(cfg->file_logging));
	fprintf(f, "pvc.system.configuration.logging.stdout_logging = %s\n", yn(cfg->stdout_logging));
	fprintf(f, "pvc.system.configuration.logging.log_colours = %s\n", yn(cfg->log_colours));
	fprintf(f, "pvc.system.configuration.logging.log_dates = %s\n", yn(cfg->log_dates));
	fprintf(f, "pvc.system.configuration.logging.log_keepalives = %s\n", yn(cfg->log_keepalives));
	fprintf(f, "pvc.system.configuration.logging.log_keepalive_cluster_details = %s\n",
		yn(cfg->log_keepalive_cluster_details));
	fprintf(f, "pvc.system.configuration.logging.log_keepalive_storage_details = %s\n",
		yn(cfg->log_keepalive_storage_details));
	fprintf(f, "pvc.system.configuration.logging.console_log_lines = %d\n",
		cfg->console_log_lines);
	if (cfg->enable_networking) {
		fprintf(f, "pvc.system.configuration.networking.bridge_device = %s\n",
			cfg->bridge_device);
		dump_iface(f, "upstream", &cfg->if_upstream);
		dump_iface(f, "cluster", &cfg->if_cluster);
		dump_iface(f, "storage", &cfg->if_storage);
	}
	fprintf(f, "pvc.system.libvirt.uri = %s\n", cfg->libvirt_uri);
	fprintf(f, "pvc.system.libvirt.migration_uri = %s\n", cfg->migration_uri);
	fprintf(f, "pvc.system.libvirt.migration_dest_uri = %s\n", cfg->migration_dest_uri);
	fprintf(f, "pvc.system.libvirt.migration_timeout = %d\n", cfg->migration_timeout);
	fprintf(f, "pvc.system.libvirt.shutdown_timeout = %d\n", cfg->vm_shutdown_timeout);
	fprintf(f, "pvc.system.flush.vm_timeout = %d\n", cfg->flush_vm_timeout);
	fprintf(f, "pvc.system.flush.in_flight = %d\n", cfg->flush_in_flight);
	fprintf(f, "pvc.system.supervisor.user = %s\n", cfg->worker_user);
	fprintf(f, "pvc.system.supervisor.heartbeat_interval_ms = %d\n", cfg->heartbeat_interval_ms);
	fprintf(f, "pvc.system.supervisor.hang_timeout_ms = %d\n", cfg->hang_timeout_ms);
	fprintf(f, "pvc.system.supervisor.restart_backoff_max_ms = %d\n",
		cfg->restart_backoff_max_ms);
	fprintf(f, "pvc.system.supervisor.healthy_reset_s = %d\n", cfg->healthy_reset_s);
	fprintf(f, "pvc.system.supervisor.crashloop_max = %d\n", cfg->crashloop_max);
	fprintf(f, "pvc.system.supervisor.crashloop_window_s = %d\n", cfg->crashloop_window_s);
}
