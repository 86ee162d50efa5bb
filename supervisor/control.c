/*
 * control.c: the root-only control socket <dynamic_directory>/pvcnoded.sock used by
 * pvcctl. Clients speak the same framing as the workers with sender ROLE_CTL. Status
 * is answered here; ZooKeeper requests are forwarded to zk-election (which applies
 * the per-path policy for ROLE_CTL) with the client's id prefixed to the reqid, and
 * the replies are routed back by that prefix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "policy.h"

#define MAX_CLIENTS 32

struct ctl_client {
	int id;
	struct control *ctl;
	struct ipc_chan chan;
	struct ctl_client *next;
};

struct control {
	struct ev_loop *loop;
	struct control_ops ops;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client *clients;
	int next_client_id;
};

static void client_free(struct control *ctl, struct ctl_client *c)
{
	struct ctl_client **pp;

	for (pp = &ctl->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->chan.fd >= 0)
		ev_del_fd(ctl->loop, c->chan.fd);
	ipc_chan_close(&c->chan);
	free(c);
}

static void client_update_events(struct control *ctl, struct ctl_client *c)
{
	ev_mod_fd(ctl->loop, c->chan.fd, POLLIN | (ipc_chan_pending(&c->chan) ? POLLOUT : 0));
}

static void client_send_strv(struct control *ctl, struct ctl_client *c, uint32_t type,
			     struct ipc_strv_buf *b)
{
	size_t len;
	const uint8_t *p = strvb_finish(b, &len);

	if (p == NULL || ipc_send(&c->chan, type, ROLE_CTL, p, len, -1) != 0) {
		log_warnx("cannot answer pvcctl client %d", c->id);
		return;
	}
	if (ipc_chan_flush(&c->chan) < 0)
		return;
	client_update_events(ctl, c);
}

static void control_status(struct control *ctl, struct ctl_client *c)
{
	struct ipc_strv_buf b;

	strvb_init(&b);
	ctl->ops.status(ctl->ops.ctx, &b);
	client_send_strv(ctl, c, MSG_CTL_REPLY, &b);
	strvb_free(&b);
}

static void control_reply_error(struct control *ctl, struct ctl_client *c, const char *reqid,
				int rc)
{
	struct ipc_strv_buf b;

	strvb_init(&b);
	strvb_add(&b, reqid);
	strvb_addf(&b, "%d", rc);
	client_send_strv(ctl, c, MSG_ZK_REPLY, &b);
	strvb_free(&b);
}

/* Forward a ZooKeeper request with "<client id>:" prefixed to its reqid. */
static void control_forward_zk(struct control *ctl, struct ctl_client *c, struct ipc_msg *msg)
{
	struct ipc_strv in;
	struct ipc_strv_buf b;
	struct ipc_msg out;
	const uint8_t *p;
	size_t len;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &in, NULL) != 0 || in.n < 1) {
		if (in.v)
			ipc_strv_free(&in);
		log_warnx("pvcctl client %d sent a malformed request", c->id);
		return;
	}
	if (!ctl->ops.running(ctl->ops.ctx, ROLE_ZK)) {
		control_reply_error(ctl, c, in.v[0], IPC_RC_NOTCONN);
		ipc_strv_free(&in);
		return;
	}
	strvb_init(&b);
	strvb_addf(&b, "%d:%s", c->id, in.v[0]);
	for (uint32_t i = 1; i < in.n; i++)
		strvb_addn(&b, in.v[i], in.lens[i]);
	p = strvb_finish(&b, &len);
	if (p != NULL) {
		out.hdr = msg->hdr;
		out.hdr.len = (uint32_t)len;
		out.hdr.sender = ROLE_CTL;
		out.hdr.dest = ROLE_ZK;
		out.hdr.flags = 0;
		out.data = (uint8_t *)p;
		out.fd = -1;
		if (ctl->ops.forward(ctl->ops.ctx, ROLE_ZK, &out) != 0)
			control_reply_error(ctl, c, in.v[0], IPC_RC_NOTCONN);
	} else {
		/* the prefixed request no longer fits a frame: refuse it rather than leave
		 * the client waiting for a reply that never comes */
		control_reply_error(ctl, c, in.v[0], IPC_RC_POLICY);
	}
	strvb_free(&b);
	ipc_strv_free(&in);
}

void control_route_reply(struct control *ctl, const struct ipc_msg *msg)
{
	struct ipc_strv in;
	struct ipc_strv_buf b;
	struct ctl_client *c;
	char *colon;
	long long id;

	if (msg->hdr.type != MSG_ZK_REPLY)
		return;
	if (ipc_strv_decode(msg->data, msg->hdr.len, &in, NULL) != 0)
		return;
	if (in.n < 1 || (colon = strchr(in.v[0], ':')) == NULL) {
		ipc_strv_free(&in);
		return;
	}
	*colon = '\0';
	if (parse_ll(in.v[0], 0, 1 << 30, &id) != 0) {
		ipc_strv_free(&in);
		return;
	}
	for (c = ctl->clients; c; c = c->next)
		if (c->id == (int)id)
			break;
	if (c != NULL) {
		strvb_init(&b);
		strvb_add(&b, colon + 1);
		for (uint32_t i = 1; i < in.n; i++)
			strvb_addn(&b, in.v[i], in.lens[i]);
		client_send_strv(ctl, c, MSG_ZK_REPLY, &b);
		strvb_free(&b);
	}
	ipc_strv_free(&in);
}

static int control_frame(void *arg, struct ipc_msg *msg)
{
	struct ctl_client *c = arg;
	struct control *ctl = c->ctl;

	if (msg->hdr.sender != ROLE_CTL) {
		log_warnx("pvcctl client %d: %s; disconnecting", c->id, "wrong sender");
		client_free(ctl, c);
		return 1;
	}
	if (!policy_allowed(msg->hdr.type, ROLE_CTL, msg->hdr.dest)) {
		log_warnx("dropped %s from pvcctl to %s: not allowed by the policy table",
			  ipc_type_name(msg->hdr.type), role_name(msg->hdr.dest));
	} else if (msg->hdr.type == MSG_CTL_STATUS) {
		control_status(ctl, c);
	} else {
		control_forward_zk(ctl, c, msg);
	}
	return 0;
}

static void control_client_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct ctl_client *c = arg;
	struct control *ctl = c->ctl;
	const char *err = NULL;

	switch (ipc_drain(&c->chan, revents, control_frame, c, &err)) {
	case IPC_DRAIN_CLOSED:
		client_free(ctl, c);
		return;
	case IPC_DRAIN_BAD:
		log_warnx("pvcctl client %d: %s; disconnecting", c->id, err);
		client_free(ctl, c);
		return;
	case IPC_DRAIN_STOPPED:
		return;
	default:
		client_update_events(ctl, c);
		return;
	}
}

static void control_accept(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct control *ctl = arg;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ctl_client *c;
	int n = 0, cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.uid != 0) {
		log_warnx("control socket: refused a client that is not root (uid %d)",
			  clen == sizeof(cred) ? (int)cred.uid : -1);
		close(cfd);
		return;
	}
	for (c = ctl->clients; c; c = c->next)
		n++;
	if (n >= MAX_CLIENTS) {
		log_warnx("control socket: too many clients");
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(cfd);
		return;
	}
	c->ctl = ctl;
	c->id = ++ctl->next_client_id;
	ipc_chan_init(&c->chan, cfd, ROLE_SUPERVISOR);
	c->next = ctl->clients;
	ctl->clients = c;
	if (ev_add_fd(ctl->loop, cfd, POLLIN, control_client_event, c) != 0)
		client_free(ctl, c);
}

/* The listening socket, root only: 0, or -1 logged. */
static int control_listen(struct control *ctl, const char *dir)
{
	struct sockaddr_un sa;
	int fd;
	mode_t old;

	if ((size_t)snprintf(ctl->path, sizeof(ctl->path), "%s/pvcnoded.sock", dir) >=
	    sizeof(sa.sun_path)) {
		log_errx("control socket path %s/pvcnoded.sock is too long", dir);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strlcpy_pvc(sa.sun_path, ctl->path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("control socket");
		return -1;
	}
	if (unlink(ctl->path) != 0 && errno != ENOENT)
		log_warn("removing a stale %s", ctl->path);
	old = umask(0077); /* root only, before the path exists */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		log_err("binding %s", ctl->path);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(ctl->path, 0600) != 0 || listen(fd, 16) != 0) {
		log_err("preparing %s", ctl->path);
		close(fd);
		return -1;
	}
	ctl->fd = fd;
	return ev_add_fd(ctl->loop, fd, POLLIN, control_accept, ctl);
}

struct control *control_open(struct ev_loop *loop, const char *dir,
			     const struct control_ops *ops)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (ctl == NULL) {
		log_errx("out of memory");
		return NULL;
	}
	ctl->loop = loop;
	ctl->ops = *ops;
	ctl->fd = -1;
	if (control_listen(ctl, dir) != 0) {
		control_close(ctl);
		return NULL;
	}
	return ctl;
}

void control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->clients)
		client_free(ctl, ctl->clients);
	if (ctl->fd >= 0) {
		ev_del_fd(ctl->loop, ctl->fd);
		close(ctl->fd);
		ctl->fd = -1;
		if (unlink(ctl->path) != 0 && errno != ENOENT)
			log_warn("removing %s", ctl->path);
	}
	free(ctl);
}
