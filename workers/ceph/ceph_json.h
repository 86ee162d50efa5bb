/*
 * ceph_json.h: a small JSON reader for the answers of Ceph's monitor and manager
 * (workers/ceph/json.c), and the writer helpers the statistics are built with.
 *
 * The input is untrusted (a compromised or buggy Ceph daemon): nesting is bounded,
 * every node is checked against the input's end, numbers and literals are kept as
 * their raw text (so that 1.7171234503621235e-05 is written back exactly as Ceph
 * gave it). Strings are unescaped on demand.
 */
#ifndef CEPH_JSON_H
#define CEPH_JSON_H

#include <stddef.h>
#include <stdint.h>

#define CEPH_JSON_DEPTH_MAX 32

enum ceph_json_type { CJ_NULL, CJ_BOOL, CJ_NUM, CJ_STR, CJ_ARR, CJ_OBJ };

struct cj {
	enum ceph_json_type type;
	const char *raw;   /* NUM, BOOL, NULL: the literal; STR: between the quotes */
	size_t rawlen;
	const char *key;   /* member of an object: the key between the quotes */
	size_t keylen;
	struct cj *child;  /* ARR, OBJ: first element */
	struct cj *next;   /* next sibling */
};

/* Parse buf[0..len) (need not be NUL-terminated; must outlive the tree). NULL if it
 * is not one JSON value (trailing space allowed). */
struct cj *ceph_json_parse(const char *buf, size_t len);
void ceph_json_free(struct cj *n);
/* The member `key` of an object (NULL if n is not an object or has none). */
const struct cj *ceph_json_get(const struct cj *n, const char *key);
/* A number as int64 / double: 0, or -1 if n is no number or out of range. */
int ceph_json_int(const struct cj *n, int64_t *out);
int ceph_json_double(const struct cj *n, double *out);
/* A string, unescaped into out (\uXXXX beyond ASCII becomes '?'): 0, or -1 if n is
 * no string or it does not fit. */
int ceph_json_str(const struct cj *n, char *out, size_t outsz);

/* An output buffer: appends never overflow; `err` is set once something did not fit
 * (the caller then writes nothing: never a truncated value). */
struct ceph_buf {
	char *p;
	size_t len, cap;
	int err;
};
void ceph_json_buf_init(struct ceph_buf *b, char *mem, size_t cap);
void ceph_json_put(struct ceph_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A JSON string literal of s (quoted and escaped). */
void ceph_json_put_str(struct ceph_buf *b, const char *s);
/* n's raw text if it is a number or a boolean (booleans as Python's json.dumps
 * writes them, true/false), else `null`. */
void ceph_json_put_raw(struct ceph_buf *b, const struct cj *n);

#endif
