/*
 * frame.c: the frame codec and buffered channels with fd passing.
 *
 * The decoder is the first code to touch bytes from another process; it is strict
 * (every field checked, every inconsistency rejected) and fuzzed (fuzz/fuzz_ipc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"

struct ipc_type_info {
	const char *name;
	enum ipc_payload_kind kind;
	size_t size;
};

static const struct ipc_type_info type_info[MSG_COUNT] = {
	[MSG_NONE] = {"MSG_NONE", IPC_P_EMPTY, 0},
#define IPC_INFO(n, k, s) [n] = {#n, k, s},
	IPC_MESSAGES(IPC_INFO)
#undef IPC_INFO
};

const char *ipc_type_name(uint32_t type)
{
	if (type == MSG_NONE || type >= MSG_COUNT)
		return "MSG_INVALID";
	return type_info[type].name;
}

void ipc_msg_free(struct ipc_msg *msg)
{
	if (msg == NULL)
		return;
	free(msg->data);
	msg->data = NULL;
	if (msg->fd >= 0)
		close(msg->fd);
	msg->fd = -1;
}

int ipc_check_payload(uint32_t type, const uint8_t *data, size_t len, const char **err)
{
	const char *dummy;

	if (err == NULL)
		err = &dummy;
	if (type == MSG_NONE || type >= MSG_COUNT) {
		*err = "unknown message type";
		return -1;
	}
	if (len > IPC_MAX_PAYLOAD) {
		*err = "payload too large";
		return -1;
	}
	switch (type_info[type].kind) {
	case IPC_P_EMPTY:
		if (len != 0) {
			*err = "payload present on a message that has none";
			return -1;
		}
		return 0;
	case IPC_P_FIXED:
		if (len != type_info[type].size) {
			*err = "fixed payload has the wrong size";
			return -1;
		}
		return 0;
	case IPC_P_STRV:
		return ipc_strv_check(data, len, err);
	}
	*err = "unknown payload kind";
	return -1;
}

int ipc_decode(const uint8_t *buf, size_t len, struct ipc_msg *msg, size_t *consumed,
	       const char **err)
{
	struct ipc_hdr h;
	const char *dummy;

	if (err == NULL)
		err = &dummy;
	msg->data = NULL;
	msg->fd = -1;
	if (len < IPC_HDR_SIZE)
		return IPC_DECODE_MORE;
	memcpy(&h.type, buf, 4);
	memcpy(&h.len, buf + 4, 4);
	memcpy(&h.seq, buf + 8, 4);
	h.sender = buf[12];
	h.dest = buf[13];
	memcpy(&h.flags, buf + 14, 2);
	if (h.type == MSG_NONE || h.type >= MSG_COUNT) {
		*err = "unknown message type";
		return IPC_DECODE_ERROR;
	}
	if (h.len > IPC_MAX_PAYLOAD) {
		*err = "frame length exceeds the maximum";
		return IPC_DECODE_ERROR;
	}
	if (h.flags & ~IPC_F_KNOWN) {
		*err = "unknown flags";
		return IPC_DECODE_ERROR;
	}
	if (h.sender >= ROLE_COUNT || h.dest >= ROLE_COUNT) {
		*err = "sender or destination out of range";
		return IPC_DECODE_ERROR;
	}
	if (h.sender == h.dest) {
		*err = "frame addressed to its own sender";
		return IPC_DECODE_ERROR;
	}
	/* A kind mismatch is visible from the header alone: fail before waiting for data. */
	if (type_info[h.type].kind == IPC_P_EMPTY && h.len != 0) {
		*err = "payload present on a message that has none";
		return IPC_DECODE_ERROR;
	}
	if (type_info[h.type].kind == IPC_P_FIXED && h.len != type_info[h.type].size) {
		*err = "fixed payload has the wrong size";
		return IPC_DECODE_ERROR;
	}
	if (len - IPC_HDR_SIZE < h.len)
		return IPC_DECODE_MORE;
	if (ipc_check_payload(h.type, buf + IPC_HDR_SIZE, h.len, err) != 0)
		return IPC_DECODE_ERROR;
	msg->data = malloc((size_t)h.len + 1);
	if (msg->data == NULL) {
		*err = "out of memory";
		return IPC_DECODE_ERROR;
	}
	memcpy(msg->data, buf + IPC_HDR_SIZE, h.len);
	msg->data[h.len] = '\0';
	msg->hdr = h;
	*consumed = IPC_HDR_SIZE + h.len;
	return IPC_DECODE_OK;
}

/* ---- channels ----------------------------------------------------------------- */

void ipc_chan_init(struct ipc_chan *c, int fd, enum pvc_role self)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->self = self;
	c->next_seq = 1;
	c->wfd_pending = -1;
}

void ipc_chan_close(struct ipc_chan *c)
{
	struct ipc_fdq *q = c->fdq;

	while (q) {
		struct ipc_fdq *next = q->next;
		close(q->fd);
		free(q);
		q = next;
	}
	for (int i = 0; i < c->nrfds; i++)
		close(c->rfds[i]);
	if (c->fd >= 0)
		close(c->fd);
	free(c->rbuf);
	free(c->wbuf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->wfd_pending = -1;
}

static int wbuf_append(struct ipc_chan *c, const void *p, size_t n)
{
	if (c->wlen + n > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 4096;
		uint8_t *nb;
		while (cap < c->wlen + n)
			cap *= 2;
		nb = realloc(c->wbuf, cap);
		if (nb == NULL)
			return -1;
		c->wbuf = nb;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
	return 0;
}

/* Move the unsent bytes to the start of the buffer. Without it, a peer that always
 * leaves a little unread (a steady stream, never fully drained) would make wbuf grow
 * forever: woff/wlen only go back to 0 when everything is flushed. */
static void wbuf_compact(struct ipc_chan *c)
{
	if (c->woff == 0)
		return;
	memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
	/* queued fds belong to frames not yet reached: at >= woff */
	for (struct ipc_fdq *q = c->fdq; q; q = q->next)
		q->at -= c->woff;
	/* sent frames may carry secrets (the BMC password of FENCE_REQ) */
	explicit_bzero(c->wbuf + c->wlen - c->woff, c->woff);
	c->wlen -= c->woff;
	c->woff = 0;
}

static int queue_frame(struct ipc_chan *c, const struct ipc_hdr *h, const void *data, int fd)
{
	uint8_t hdr[IPC_HDR_SIZE];
	size_t at;
	struct ipc_fdq *q = NULL, **tail = &c->fdq;
	size_t frame = IPC_HDR_SIZE + (size_t)h->len;

	/* A peer that does not read (stopped, hung, a pvcctl that only writes) must not
	 * make us buffer without bound. */
	if (c->wlen - c->woff + frame > IPC_WBUF_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	if (c->woff > 0 && c->wlen + frame > c->wcap)
		wbuf_compact(c);
	at = c->wlen;

	memcpy(hdr, &h->type, 4);
	memcpy(hdr + 4, &h->len, 4);
	memcpy(hdr + 8, &h->seq, 4);
	hdr[12] = h->sender;
	hdr[13] = h->dest;
	memcpy(hdr + 14, &h->flags, 2);
	if (fd >= 0) {
		q = calloc(1, sizeof(*q));
		if (q == NULL)
			return -1;
		q->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (q->fd < 0) {
			free(q);
			return -1;
		}
		q->at = at;
		for (; *tail; tail = &(*tail)->next)
			;
		*tail = q;
	}
	if (wbuf_append(c, hdr, sizeof(hdr)) != 0 ||
	    (h->len > 0 && wbuf_append(c, data, h->len) != 0)) {
		c->wlen = at;
		/* The fd would otherwise ride on whatever frame is queued next at `at`. */
		if (q != NULL) {
			*tail = NULL;
			close(q->fd);
			free(q);
		}
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int ipc_send(struct ipc_chan *c, uint32_t type, enum pvc_role dest, const void *data,
	     size_t len, int fd)
{
	struct ipc_hdr h;
	const char *err;

	if (c->fd < 0) {
		errno = EPIPE;
		return -1;
	}
	if (ipc_check_payload(type, data, len, &err) != 0 || (unsigned)dest >= ROLE_COUNT ||
	    dest == c->self) {
		errno = EINVAL;
		return -1;
	}
	h.type = type;
	h.len = (uint32_t)len;
	h.seq = c->next_seq++;
	h.sender = (uint8_t)c->self;
	h.dest = (uint8_t)dest;
	h.flags = fd >= 0 ? IPC_F_FD : 0;
	if (queue_frame(c, &h, data, fd) != 0)
		return -1; /* errno from queue_frame: ENOBUFS, ENOMEM, ... */
	return 0;
}

int ipc_forward(struct ipc_chan *c, const struct ipc_msg *msg)
{
	if (c->fd < 0) {
		errno = EPIPE;
		return -1;
	}
	if (queue_frame(c, &msg->hdr, msg->data, (msg->hdr.flags & IPC_F_FD) ? msg->fd : -1) != 0)
		return -1;
	return 0;
}

int ipc_chan_pending(const struct ipc_chan *c)
{
	return c->woff < c->wlen;
}

int ipc_chan_flush(struct ipc_chan *c)
{
	while (c->woff < c->wlen) {
		size_t end = c->wlen;
		struct msghdr mh;
		struct iovec iov;
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int))];
		} cbuf;
		ssize_t w;
		int sending_fd = 0;

		memset(&mh, 0, sizeof(mh));
		if (c->fdq) {
			if (c->fdq->at == c->woff) {
				struct cmsghdr *cm;
				sending_fd = 1;
				mh.msg_control = cbuf.buf;
				mh.msg_controllen = sizeof(cbuf.buf);
				cm = CMSG_FIRSTHDR(&mh);
				cm->cmsg_level = SOL_SOCKET;
				cm->cmsg_type = SCM_RIGHTS;
				cm->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(cm), &c->fdq->fd, sizeof(int));
				if (c->fdq->next && c->fdq->next->at < end)
					end = c->fdq->next->at;
			} else if (c->fdq->at < end) {
				end = c->fdq->at;
			}
		}
		iov.iov_base = c->wbuf + c->woff;
		iov.iov_len = end - c->woff;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (sending_fd) {
			struct ipc_fdq *q = c->fdq;
			c->fdq = q->next;
			close(q->fd);
			free(q);
		}
		c->woff += (size_t)w;
	}
	if (c->wlen > 0)
		explicit_bzero(c->wbuf, c->wlen); /* sent frames may carry secrets */
	c->woff = c->wlen = 0;
	return 1;
}

int ipc_chan_flush_wait(struct ipc_chan *c, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		int r = ipc_chan_flush(c);
		struct pollfd p = {.fd = c->fd, .events = POLLOUT};
		uint64_t now;
		if (r == 1)
			return 0;
		if (r < 0)
			return -1;
		now = mono_ms();
		if (now >= deadline)
			return -1;
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -1;
	}
}

ssize_t ipc_chan_read(struct ipc_chan *c)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cbuf;
	ssize_t r;

	/* Decoded frames are dropped here, once per read, not by moving the rest of
	 * the buffer after every frame (quadratic with many small frames). */
	if (c->roff > 0) {
		size_t used = c->roff;

		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
		/* consumed frames may carry secrets (the BMC password of FENCE_REQ) */
		explicit_bzero(c->rbuf + c->rlen, used);
	}
	if (c->rcap - c->rlen < 65536) {
		size_t cap = c->rcap ? c->rcap * 2 : 131072;
		uint8_t *nb;
		if (cap > IPC_MAX_PAYLOAD * 2 + 65536)
			cap = IPC_MAX_PAYLOAD * 2 + 65536;
		if (cap <= c->rlen) {
			errno = ENOBUFS;
			return -1;
		}
		nb = realloc(c->rbuf, cap);
		if (nb == NULL)
			return -1;
		c->rbuf = nb;
		c->rcap = cap;
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = c->rbuf + c->rlen;
	iov.iov_len = c->rcap - c->rlen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	do {
		r = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (c->nrfds < (int)(sizeof(c->rfds) / sizeof(c->rfds[0])))
					c->rfds[c->nrfds++] = fd;
				else
					close(fd); /* more fds than frames could claim: drop */
			}
		}
	}
	if (r == 0)
		c->eof = 1;
	c->rlen += (size_t)r;
	return r;
}

int ipc_chan_get(struct ipc_chan *c, struct ipc_msg *msg, const char **err)
{
	size_t used = 0;
	int rc;

	msg->data = NULL;
	msg->fd = -1;
	if (c->rlen == 0)
		return IPC_DECODE_MORE;
	rc = ipc_decode(c->rbuf + c->roff, c->rlen - c->roff, msg, &used, err);
	if (rc != IPC_DECODE_OK)
		return rc;
	if (msg->hdr.flags & IPC_F_FD) {
		if (c->nrfds == 0) {
			if (err)
				*err = "frame announces a file descriptor that did not arrive";
			ipc_msg_free(msg);
			return IPC_DECODE_ERROR;
		}
		msg->fd = c->rfds[0];
		memmove(c->rfds, c->rfds + 1, (size_t)(c->nrfds - 1) * sizeof(int));
		c->nrfds--;
	}
	c->roff += used;
	if (c->roff == c->rlen)
		c->roff = c->rlen = 0;
	return IPC_DECODE_OK;
}

int ipc_chan_recv_wait(struct ipc_chan *c, struct ipc_msg *msg, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		const char *err = NULL;
		int rc = ipc_chan_get(c, msg, &err);
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		uint64_t now;
		ssize_t r;

		if (rc == IPC_DECODE_OK)
			return 0;
		if (rc == IPC_DECODE_ERROR) {
			errno = EPROTO;
			return -1;
		}
		now = mono_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&p, 1, (int)(deadline - now)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = ipc_chan_read(c);
		if (r == 0) {
			errno = EPIPE;
			return -1;
		}
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
}

/* Lives here, not in strv.c, so that strv.c stays a leaf below the framing. */
int ipc_send_strv(struct ipc_chan *c, uint32_t type, enum pvc_role dest, const char *const *v,
		  uint32_t n)
{
	struct ipc_strv_buf b;
	const uint8_t *p;
	size_t len;
	int rc;

	strvb_init(&b);
	for (uint32_t i = 0; i < n; i++)
		strvb_add(&b, v[i]);
	p = strvb_finish(&b, &len);
	if (p == NULL) {
		strvb_free(&b);
		errno = EINVAL;
		return -1;
	}
	rc = ipc_send(c, type, dest, p, len, -1);
	strvb_free(&b);
	return rc;
}

