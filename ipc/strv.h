/*
 * strv.h: STRV payloads (ipc/strv.c): a vector of strings, uint32 count then
 * count x (uint32 n, n bytes), no NUL inside, lengths adding up to the payload.
 * Included by ipc.h.
 */
#ifndef IPC_STRV_H
#define IPC_STRV_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct ipc_strv {
	uint32_t n;
	char **v;       /* n NUL-terminated strings */
	uint32_t *lens; /* their lengths */
};

/* Validate a STRV payload without copying: 0, or -1 with *err set. */
int ipc_strv_check(const uint8_t *data, size_t len, const char **err);
/* Decode a STRV payload (validated). Returns 0, or -1 with err set. */
int ipc_strv_decode(const uint8_t *data, size_t len, struct ipc_strv *out, const char **err);
void ipc_strv_free(struct ipc_strv *sv);

/* A builder for STRV payloads. */
struct ipc_strv_buf {
	uint8_t *data;
	size_t len, cap;
	uint32_t count;
	int failed;
};
void strvb_init(struct ipc_strv_buf *b);
void strvb_add(struct ipc_strv_buf *b, const char *s);           /* NUL-terminated */
void strvb_addn(struct ipc_strv_buf *b, const char *s, size_t n); /* must contain no NUL */
void strvb_addf(struct ipc_strv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Finish: returns payload pointer and length, or NULL if any step failed. */
const uint8_t *strvb_finish(struct ipc_strv_buf *b, size_t *len);
void strvb_free(struct ipc_strv_buf *b);

struct ipc_chan;
/* Queue a STRV frame built from `n` strings (see ipc_send()). */
int ipc_send_strv(struct ipc_chan *c, uint32_t type, enum pvc_role dest, const char *const *v,
		  uint32_t n);

#endif
