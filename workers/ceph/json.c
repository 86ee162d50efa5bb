/*
 * json.c: the JSON reader and writer helpers of the ceph worker (ceph_json.h).
 * Recursive descent over untrusted bytes, depth-bounded; the tree points into
 * the input.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceph_json.h"

struct jp {
	const char *s, *end;
};

static void skip_ws(struct jp *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

/* a string's body; p->s on the opening quote, left after the closing one */
static int scan_str(struct jp *p, const char **start, size_t *len)
{
	p->s++;
	*start = p->s;
	while (p->s < p->end) {
		unsigned char c = (unsigned char)*p->s;
		if (c == '"') {
			*len = (size_t)(p->s - *start);
			p->s++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (p->end - p->s < 2)
				return -1;
			p->s++;
		}
		p->s++;
	}
	return -1;
}

static int scan_lit(struct jp *p, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(p->end - p->s) < n || memcmp(p->s, lit, n) != 0)
		return -1;
	p->s += n;
	return 0;
}

static int digits(struct jp *p)
{
	const char *b = p->s;

	while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
		p->s++;
	return p->s > b ? 0 : -1;
}

/* RFC 8259's number: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static int scan_num(struct jp *p)
{
	if (p->s < p->end && *p->s == '-')
		p->s++;
	if (p->s < p->end && *p->s == '0')
		p->s++;
	else if (p->s >= p->end || *p->s < '1' || *p->s > '9' || digits(p) != 0)
		return -1;
	if (p->s < p->end && *p->s == '.') {
		p->s++;
		if (digits(p) != 0)
			return -1;
	}
	if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
		p->s++;
		if (p->s < p->end && (*p->s == '+' || *p->s == '-'))
			p->s++;
		if (digits(p) != 0)
			return -1;
	}
	return 0;
}

static struct cj *parse_value(struct jp *p, int depth);

/* elements of an array or members of an object, up to the closing bracket */
static int parse_items(struct jp *p, struct cj *n, int depth, char close)
{
	struct cj **tail = &n->child;

	p->s++;
	skip_ws(p);
	if (p->s < p->end && *p->s == close) {
		p->s++;
		return 0;
	}
	for (;;) {
		const char *k = NULL;
		size_t kl = 0;
		struct cj *c;

		skip_ws(p);
		if (close == '}') {
			if (p->s >= p->end || *p->s != '"' || scan_str(p, &k, &kl) != 0)
				return -1;
			skip_ws(p);
			if (p->s >= p->end || *p->s != ':')
				return -1;
			p->s++;
		}
		c = parse_value(p, depth + 1);
		if (c == NULL)
			return -1;
		c->key = k;
		c->keylen = kl;
		*tail = c;
		tail = &c->next;
		skip_ws(p);
		if (p->s >= p->end)
			return -1;
		if (*p->s == close) {
			p->s++;
			return 0;
		}
		if (*p->s != ',')
			return -1;
		p->s++;
	}
}

static struct cj *parse_value(struct jp *p, int depth)
{
	struct cj *n;
	const char *b;
	int rc;

	if (depth > CEPH_JSON_DEPTH_MAX)
		return NULL;
	skip_ws(p);
	if (p->s >= p->end)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	b = p->s;
	switch (*p->s) {
	case '{':
		n->type = CJ_OBJ;
		rc = parse_items(p, n, depth, '}');
		break;
	case '[':
		n->type = CJ_ARR;
		rc = parse_items(p, n, depth, ']');
		break;
	case '"':
		n->type = CJ_STR;
		rc = scan_str(p, &n->raw, &n->rawlen);
		return rc == 0 ? n : (ceph_json_free(n), NULL);
	case 't':
		n->type = CJ_BOOL;
		rc = scan_lit(p, "true");
		break;
	case 'f':
		n->type = CJ_BOOL;
		rc = scan_lit(p, "false");
		break;
	case 'n':
		n->type = CJ_NULL;
		rc = scan_lit(p, "null");
		break;
	default:
		n->type = CJ_NUM;
		rc = scan_num(p);
	}
	if (rc != 0) {
		ceph_json_free(n);
		return NULL;
	}
	if (n->type != CJ_OBJ && n->type != CJ_ARR) {
		n->raw = b;
		n->rawlen = (size_t)(p->s - b);
	}
	return n;
}

struct cj *ceph_json_parse(const char *buf, size_t len)
{
	struct jp p = {buf, buf + len};
	struct cj *n = parse_value(&p, 0);

	if (n == NULL)
		return NULL;
	skip_ws(&p);
	if (p.s != p.end) {
		ceph_json_free(n);
		return NULL;
	}
	return n;
}

void ceph_json_free(struct cj *n)
{
	while (n) {
		struct cj *next = n->next;
		ceph_json_free(n->child);
		free(n);
		n = next;
	}
}

const struct cj *ceph_json_get(const struct cj *n, const char *key)
{
	size_t kl = strlen(key);

	if (n == NULL || n->type != CJ_OBJ)
		return NULL;
	for (const struct cj *c = n->child; c; c = c->next)
		if (c->keylen == kl && memcmp(c->key, key, kl) == 0)
			return c;
	return NULL;
}

static int num_text(const struct cj *n, char *t, size_t tsz)
{
	if (n == NULL || n->type != CJ_NUM || n->rawlen >= tsz)
		return -1;
	memcpy(t, n->raw, n->rawlen);
	t[n->rawlen] = '\0';
	return 0;
}

int ceph_json_int(const struct cj *n, int64_t *out)
{
	char t[64], *e;
	long long v;

	if (num_text(n, t, sizeof(t)) != 0)
		return -1;
	errno = 0;
	v = strtoll(t, &e, 10);
	if (errno != 0 || *e != '\0')
		return -1;
	*out = v;
	return 0;
}

int ceph_json_double(const struct cj *n, double *out)
{
	char t[64], *e;

	if (num_text(n, t, sizeof(t)) != 0)
		return -1;
	errno = 0;
	*out = strtod(t, &e);
	return errno != 0 || *e != '\0' ? -1 : 0;
}

static int hexval(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

int ceph_json_str(const struct cj *n, char *out, size_t outsz)
{
	size_t o = 0;

	if (n == NULL || n->type != CJ_STR || outsz == 0)
		return -1;
	for (size_t i = 0; i < n->rawlen; i++) {
		char c = n->raw[i];
		if (c == '\\') {
			/* the scanner guarantees a character after every backslash */
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *f;
			c = n->raw[++i];
			if (c == 'u') {
				unsigned v;
				if (n->rawlen - i < 5 || hexval(n->raw + i + 1, &v) != 0)
					return -1;
				i += 4;
				c = v < 0x80 && v >= 0x20 ? (char)v : '?';
			} else if ((f = strchr(from, c)) != NULL && c != '\0') {
				c = to[f - from];
			} else {
				return -1;
			}
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

void ceph_json_buf_init(struct ceph_buf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->err = cap == 0;
	if (cap)
		mem[0] = '\0';
}

void ceph_json_put(struct ceph_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->err = 1;
		b->p[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

void ceph_json_put_str(struct ceph_buf *b, const char *s)
{
	ceph_json_put(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			ceph_json_put(b, "\\%c", c);
		else if (c < 0x20)
			ceph_json_put(b, "\\u%04x", c);
		else
			ceph_json_put(b, "%c", c);
	}
	ceph_json_put(b, "\"");
}

void ceph_json_put_raw(struct ceph_buf *b, const struct cj *n)
{
	if (n && (n->type == CJ_NUM || n->type == CJ_BOOL))
		ceph_json_put(b, "%.*s", (int)n->rawlen, n->raw);
	else
		ceph_json_put(b, "null");
}
