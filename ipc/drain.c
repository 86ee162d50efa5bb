/*
 * drain.c: serve one poll event of a channel and dispatch its frames.
 *
 * The supervisor (each worker, each pvcctl client) and every worker (the supervisor)
 * own channels that they read the same way; the rules live here once: flush first
 * (a peer gone on write is gone), one read per event (the loop comes back while data
 * remain), EOF before dispatch (nothing a vanished peer queued is acted upon), and a
 * malformed frame ends the channel because framing cannot be found again.
 */
#include <errno.h>
#include <poll.h>

#include "ipc.h"

/* Hand every complete buffered frame to `handle`. */
static int drain_frames(struct ipc_chan *c, ipc_handler_fn handle, void *arg,
			const char **err)
{
	for (;;) {
		struct ipc_msg msg;
		int rc = ipc_chan_get(c, &msg, err);

		if (rc == IPC_DECODE_MORE)
			return IPC_DRAIN_OK;
		if (rc == IPC_DECODE_ERROR)
			return IPC_DRAIN_BAD;
		rc = handle(arg, &msg);
		ipc_msg_free(&msg);
		if (rc != 0)
			return IPC_DRAIN_STOPPED;
	}
}

int ipc_drain(struct ipc_chan *c, short revents, ipc_handler_fn handle, void *arg,
	      const char **err)
{
	const char *dummy = NULL;
	int rc;

	if (err == NULL)
		err = &dummy;
	*err = NULL;
	if ((revents & POLLOUT) && ipc_chan_flush(c) < 0)
		return IPC_DRAIN_CLOSED;
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t r = ipc_chan_read(c);

		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return IPC_DRAIN_CLOSED;
	}
	rc = drain_frames(c, handle, arg, err);
	if (rc == IPC_DRAIN_BAD && *err == NULL)
		*err = "malformed frame";
	return rc;
}
