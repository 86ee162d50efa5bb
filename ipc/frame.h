/*
 * frame.h: the frame codec and the buffered channels (ipc/frame.c): strict decoding
 * of what another process wrote, queued writes with fd passing, reads that collect
 * passed fds until a frame claims them. Included by ipc.h.
 */
#ifndef IPC_FRAME_H
#define IPC_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc.h"

const char *ipc_type_name(uint32_t type);

/* ---- decoded frames --------------------------------------------------------- */

struct ipc_msg {
	struct ipc_hdr hdr;
	uint8_t *data; /* len bytes, followed by one NUL (owned) */
	int fd;        /* -1 unless the frame carried one (owned: set to -1 to keep it) */
};

void ipc_msg_free(struct ipc_msg *msg);

enum ipc_decode_result { IPC_DECODE_OK = 0, IPC_DECODE_MORE = 1, IPC_DECODE_ERROR = -1 };

/*
 * Strict decoder for one frame at the start of buf[0..len). On OK, *consumed is the
 * frame's size and msg->data a private copy. On ERROR, `err` (if not NULL) names the
 * inconsistency. The decoder checks: known type, known flags, sender/dest roles in
 * range, len <= IPC_MAX_PAYLOAD, and the payload against the type's kind.
 */
int ipc_decode(const uint8_t *buf, size_t len, struct ipc_msg *msg, size_t *consumed,
	       const char **err);

/* Payload check by kind (used by ipc_decode and for locally built frames). */
int ipc_check_payload(uint32_t type, const uint8_t *data, size_t len, const char **err);

/* ---- channels ---------------------------------------------------------------- */

struct ipc_fdq;

struct ipc_chan {
	int fd;
	enum pvc_role self; /* stamped into `sender` of every frame we write */
	uint32_t next_seq;
	uint8_t *rbuf;
	size_t roff; /* rbuf[roff..rlen) is not decoded yet */
	size_t rlen, rcap;
	int rfds[4]; /* fds received but not yet attached to a frame */
	int nrfds;
	uint8_t *wbuf;
	size_t wlen, wcap, woff;
	int wfd_pending; /* fd to attach to the first byte of the pending frame at woff */
	size_t wfd_at;   /* offset in wbuf of that frame */
	struct ipc_fdq *fdq; /* queued fds for frames not yet reached */
	int eof;
};

struct ipc_fdq {
	size_t at;
	int fd;
	struct ipc_fdq *next;
};

void ipc_chan_init(struct ipc_chan *c, int fd, enum pvc_role self);
void ipc_chan_close(struct ipc_chan *c);

/* Queue a frame. fd >= 0 is passed (dup'ed by the kernel on send; the caller keeps
 * ownership of its copy). Returns 0 or -1 (errno) if the frame is invalid (EINVAL),
 * the peer is gone (EPIPE), IPC_WBUF_MAX is reached (ENOBUFS) or memory runs out.
 * Nothing is written until ipc_chan_flush(). */
int ipc_send(struct ipc_chan *c, uint32_t type, enum pvc_role dest, const void *data,
	     size_t len, int fd);
/* Forward a decoded frame unchanged (supervisor routing; keeps sender and seq). */
int ipc_forward(struct ipc_chan *c, const struct ipc_msg *msg);

/* Write as much as possible. Returns 1 if everything is flushed, 0 if data remain
 * (wait for POLLOUT), -1 on error (peer gone). */
int ipc_chan_flush(struct ipc_chan *c);
int ipc_chan_pending(const struct ipc_chan *c);
/* Blocking flush with a timeout in ms; 0 when flushed, -1 otherwise. */
int ipc_chan_flush_wait(struct ipc_chan *c, int timeout_ms);

/* Read what is available. Returns bytes read (>0), 0 on EOF, -1 on error
 * (EAGAIN included: check errno). */
ssize_t ipc_chan_read(struct ipc_chan *c);
/* Take the next complete frame out of the read buffer: IPC_DECODE_OK with *msg filled,
 * IPC_DECODE_MORE if incomplete, IPC_DECODE_ERROR on a malformed frame (the channel
 * must then be closed: framing is lost). */
int ipc_chan_get(struct ipc_chan *c, struct ipc_msg *msg, const char **err);
/* Blocking receive of one frame with a timeout; 0 ok, -1 on error/timeout/EOF. */
int ipc_chan_recv_wait(struct ipc_chan *c, struct ipc_msg *msg, int timeout_ms);

#endif
