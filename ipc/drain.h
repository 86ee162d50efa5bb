/*
 * drain.h: the one read-and-dispatch loop of every channel owner (ipc/drain.c): the
 * supervisor's side of each worker, its pvcctl clients, and a worker's side of the
 * supervisor. Included by ipc.h.
 */
#ifndef IPC_DRAIN_H
#define IPC_DRAIN_H

#include "ipc.h"

enum ipc_drain_result {
	IPC_DRAIN_OK = 0,       /* every complete frame handled: wait for more */
	IPC_DRAIN_STOPPED = 1,  /* the handler returned non-zero: `c` was not touched after */
	IPC_DRAIN_CLOSED = -1,  /* peer gone (EOF, read or write error): close the channel */
	IPC_DRAIN_BAD = -2,     /* malformed frame, framing is lost: close; *err says why */
};

/* Called once per decoded frame. msg and its data are freed (its fd closed) after the
 * call: to keep the fd, take it and set msg->fd = -1. Return 0 to go on, non-zero to
 * stop at once (e.g. the handler closed or freed the channel). */
typedef int (*ipc_handler_fn)(void *arg, struct ipc_msg *msg);

/*
 * Serve one poll event of channel c: on POLLOUT flush; on POLLIN/POLLHUP/POLLERR read
 * once (EOF or an error other than EAGAIN: IPC_DRAIN_CLOSED, the frames still buffered
 * are not handled); then hand every complete buffered frame to `handle`, in order.
 * revents = 0 only handles what is already buffered (frames that arrived with an
 * earlier blocking read, or the last words of a dead peer after the caller's own
 * ipc_chan_read()). The caller closes the channel on a negative result and updates
 * its poll events (ipc_chan_pending()) otherwise. err may be NULL.
 */
int ipc_drain(struct ipc_chan *c, short revents, ipc_handler_fn handle, void *arg,
	      const char **err);

#endif
