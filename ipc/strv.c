/*
 * strv.c: STRV payloads: the validator (also run by the frame decoder), the decoder
 * into a vector of strings, and the builder.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Walk a STRV payload; calls `each` (may be NULL) per string. 0 ok, -1 invalid. */
static int strv_walk(const uint8_t *data, size_t len, const char **err,
		     void (*each)(void *arg, uint32_t i, const uint8_t *s, uint32_t n), void *arg)
{
	uint32_t count, i;
	size_t off = 4;

	if (len < 4) {
		*err = "string vector shorter than its count";
		return -1;
	}
	count = get_u32(data);
	if (count > IPC_STRV_MAX) {
		*err = "string vector count too large";
		return -1;
	}
	for (i = 0; i < count; i++) {
		uint32_t n;
		if (len - off < 4) {
			*err = "string vector truncated in a length";
			return -1;
		}
		n = get_u32(data + off);
		off += 4;
		if (n > len - off) {
			*err = "string vector string runs past the payload";
			return -1;
		}
		if (memchr(data + off, '\0', n) != NULL) {
			*err = "string vector string contains NUL";
			return -1;
		}
		if (each)
			each(arg, i, data + off, n);
		off += n;
	}
	if (off != len) {
		*err = "string vector has trailing bytes";
		return -1;
	}
	return 0;
}

int ipc_strv_check(const uint8_t *data, size_t len, const char **err)
{
	const char *dummy;

	return strv_walk(data, len, err ? err : &dummy, NULL, NULL);
}

/* ---- string vectors ----------------------------------------------------------- */

struct strv_fill {
	struct ipc_strv *sv;
	int failed;
};

static void strv_fill_one(void *arg, uint32_t i, const uint8_t *s, uint32_t n)
{
	struct strv_fill *f = arg;
	char *copy = malloc((size_t)n + 1);

	if (copy == NULL) {
		f->failed = 1;
		f->sv->v[i] = NULL;
		return;
	}
	memcpy(copy, s, n);
	copy[n] = '\0';
	f->sv->v[i] = copy;
	f->sv->lens[i] = n;
}

int ipc_strv_decode(const uint8_t *data, size_t len, struct ipc_strv *out, const char **err)
{
	struct strv_fill f = {out, 0};
	const char *dummy;

	if (err == NULL)
		err = &dummy;
	memset(out, 0, sizeof(*out));
	if (strv_walk(data, len, err, NULL, NULL) != 0)
		return -1;
	out->n = get_u32(data);
	out->v = calloc((size_t)out->n + 1, sizeof(char *));
	out->lens = calloc((size_t)out->n + 1, sizeof(uint32_t));
	if (out->v == NULL || out->lens == NULL) {
		ipc_strv_free(out);
		*err = "out of memory";
		return -1;
	}
	(void)strv_walk(data, len, err, strv_fill_one, &f);
	if (f.failed) {
		ipc_strv_free(out);
		*err = "out of memory";
		return -1;
	}
	return 0;
}

void ipc_strv_free(struct ipc_strv *sv)
{
	if (sv->v) {
		for (uint32_t i = 0; i < sv->n; i++)
			free(sv->v[i]);
	}
	free(sv->v);
	free(sv->lens);
	memset(sv, 0, sizeof(*sv));
}

void strvb_init(struct ipc_strv_buf *b)
{
	memset(b, 0, sizeof(*b));
}

static int strvb_reserve(struct ipc_strv_buf *b, size_t more)
{
	size_t need;
	uint8_t *n;

	if (b->failed)
		return -1;
	if (b->cap == 0) {
		b->data = malloc(256);
		if (b->data == NULL) {
			b->failed = 1;
			return -1;
		}
		b->cap = 256;
		b->len = 4; /* room for the count */
	}
	need = b->len + more;
	if (need > IPC_MAX_PAYLOAD) {
		b->failed = 1;
		return -1;
	}
	if (need <= b->cap)
		return 0;
	while (b->cap < need)
		b->cap *= 2;
	n = realloc(b->data, b->cap);
	if (n == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = n;
	return 0;
}

void strvb_addn(struct ipc_strv_buf *b, const char *s, size_t n)
{
	uint32_t n32 = (uint32_t)n;

	if (n > IPC_MAX_PAYLOAD || memchr(s, '\0', n) != NULL || b->count >= IPC_STRV_MAX) {
		b->failed = 1;
		return;
	}
	if (strvb_reserve(b, 4 + n) != 0)
		return;
	memcpy(b->data + b->len, &n32, 4);
	memcpy(b->data + b->len + 4, s, n);
	b->len += 4 + n;
	b->count++;
}

void strvb_add(struct ipc_strv_buf *b, const char *s)
{
	strvb_addn(b, s ? s : "", s ? strlen(s) : 0);
}

void strvb_addf(struct ipc_strv_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	strvb_addn(b, s, (size_t)n);
	free(s);
}

const uint8_t *strvb_finish(struct ipc_strv_buf *b, size_t *len)
{
	if (strvb_reserve(b, 0) != 0)
		return NULL;
	memcpy(b->data, &b->count, 4);
	*len = b->len;
	return b->data;
}

void strvb_free(struct ipc_strv_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
