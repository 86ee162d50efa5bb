/*
 * control.h: the root-only control socket used by pvcctl (control.c). It knows
 * nothing of the supervisor's state: what it needs of it (forwarding a request to a
 * worker, the status reply) comes through struct control_ops, given by
 * supervisor_main().
 */
#ifndef CONTROL_H
#define CONTROL_H

#include "evloop.h"
#include "ipc.h"
#include "pvc.h"

struct control_ops {
	/* Queue a frame for worker `dest`: 0, or -1 if it cannot take it now. */
	int (*forward)(void *ctx, enum pvc_role dest, const struct ipc_msg *msg);
	/* Is worker `role` running (ready, not stopping)? */
	int (*running)(void *ctx, enum pvc_role role);
	/* Append the lines of the answer to CTL_STATUS. */
	void (*status)(void *ctx, struct ipc_strv_buf *b);
	void *ctx;
};

struct control;

/* Listen on <dir>/pvcnoded.sock (root only, mode 600): NULL (logged) on failure. */
struct control *control_open(struct ev_loop *loop, const char *dir,
			     const struct control_ops *ops);
/* Disconnect every client and remove the socket; NULL is accepted. */
void control_close(struct control *ctl);
/* A ZK_REPLY addressed to ROLE_CTL: hand it to the client named in its reqid. */
void control_route_reply(struct control *ctl, const struct ipc_msg *msg);

#endif
