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

#include "log.h"
#include "supervisor.h"

#define MAX_CLIENTS 32

int sup_forward_to(struct supervisor *sv, enum pvc_role dest, const struct ipc_msg *msg);

static const char *state_name(enum child_state s)
{
	switch (s) {
	case CHILD_DOWN: return "restarting";
	case CHILD_STARTING: return "starting";
	case CHILD_RUNNING: return "running";
	case CHILD_STOPPING: return "stopping";
	case CHILD_STOPPED: return "stopped";
	}
	return "unknown";
}

static void client_free(struct supervisor *sv, struct ctl_client *c)
{
	struct ctl_client **pp;

	for (pp = &sv->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->chan.fd >= 0)
		ev_del_fd(sv->loop, c->chan.fd);
	ipc_chan_close(&c->chan);
	free(c);
}

static void client_update_events(struct supervisor *sv, struct ctl_client *c)
{
	ev_mod_fd(sv->loop, c->chan.fd, POLLIN | (ipc_chan_pending(&c->chan) ? POLLOUT : 0));
}

static void client_send_strv(struct supervisor *sv, struct ctl_client *c, uint32_t type,
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
	client_update_events(sv, c);
}

static void control_status(struct supervisor *sv, struct ctl_client *c)
{
	struct ipc_strv_buf b;
	uint64_t now = mono_ms();

	strvb_init(&b);
	strvb_addf(&b, "node=%s", sv->cfg.node_name);
	strvb_addf(&b, "mode=%s", sv->cfg.is_coordinator ? "coordinator" : "hypervisor");
	strvb_addf(&b, "version=%s", PVC_VERSION);
	strvb_addf(&b, "supervisor.pid=%d", (int)getpid());
	strvb_addf(&b, "supervisor.uptime_s=%llu",
		   (unsigned long long)((now - sv->start_ms) / 1000));
	strvb_addf(&b, "supervisor.state=%s", sv->stopping ? "stopping" : "running");
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		struct child *k = &sv->kids[r];
		const char *n = role_name(k->role);
		strvb_addf(&b, "worker.%s.pid=%d", n, (int)k->pid);
		strvb_addf(&b, "worker.%s.state=%s", n, state_name(k->state));
		strvb_addf(&b, "worker.%s.uptime_s=%llu", n,
			   (unsigned long long)(k->pid > 0 ? (now - k->started_ms) / 1000 : 0));
		strvb_addf(&b, "worker.%s.restarts=%u", n, k->restarts);
		if (k->last_exit)
			strvb_addf(&b, "worker.%s.last_exit=%s", n, k->last_exit);
		for (uint32_t i = 0; i < k->nstatus; i++)
			strvb_addf(&b, "%s.%s", n, k->status[i]);
	}
	client_send_strv(sv, c, MSG_CTL_REPLY, &b);
	strvb_free(&b);
}

static void control_reply_error(struct supervisor *sv, struct ctl_client *c, const char *reqid,
				int rc)
{
	struct ipc_strv_buf b;

	strvb_init(&b);
	strvb_add(&b, reqid);
	strvb_addf(&b, "%d", rc);
	client_send_strv(sv, c, MSG_ZK_REPLY, &b);
	strvb_free(&b);
}

/* Forward a ZooKeeper request with "<client id>:" prefixed to its reqid. */
static void control_forward_zk(struct supervisor *sv, struct ctl_client *c, struct ipc_msg *msg)
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
	if (sv->kids[ROLE_ZK].state != CHILD_RUNNING) {
		control_reply_error(sv, c, in.v[0], -1001);
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
		if (sup_forward_to(sv, ROLE_ZK, &out) != 0)
			control_reply_error(sv, c, in.v[0], -1001);
	} else {
		/* the prefixed request no longer fits a frame: refuse it rather than leave
		 * the client waiting for a reply that never comes */
		control_reply_error(sv, c, in.v[0], -1000);
	}
	strvb_free(&b);
	ipc_strv_free(&in);
}

void control_route_reply(struct supervisor *sv, const struct ipc_msg *msg)
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
	for (c = sv->clients; c; c = c->next)
		if (c->id == (int)id)
			break;
	if (c != NULL) {
		strvb_init(&b);
		strvb_add(&b, colon + 1);
		for (uint32_t i = 1; i < in.n; i++)
			strvb_addn(&b, in.v[i], in.lens[i]);
		client_send_strv(sv, c, MSG_ZK_REPLY, &b);
		strvb_free(&b);
	}
	ipc_strv_free(&in);
}

static void control_client_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct ctl_client *c = arg;
	struct supervisor *sv = c->sv;

	if (revents & POLLOUT) {
		if (ipc_chan_flush(&c->chan) < 0) {
			client_free(sv, c);
			return;
		}
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t r = ipc_chan_read(&c->chan);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			client_free(sv, c);
			return;
		}
		for (;;) {
			struct ipc_msg msg;
			const char *err = NULL;
			int rc = ipc_chan_get(&c->chan, &msg, &err);
			if (rc == IPC_DECODE_MORE)
				break;
			if (rc == IPC_DECODE_ERROR || msg.hdr.sender != ROLE_CTL) {
				log_warnx("pvcctl client %d: %s; disconnecting", c->id,
					  rc == IPC_DECODE_ERROR ? err : "wrong sender");
				if (rc == IPC_DECODE_OK)
					ipc_msg_free(&msg);
				client_free(sv, c);
				return;
			}
			if (!policy_allowed(msg.hdr.type, ROLE_CTL, msg.hdr.dest)) {
				log_warnx("dropped %s from pvcctl to %s: not allowed by the policy table",
					  ipc_type_name(msg.hdr.type), role_name(msg.hdr.dest));
			} else if (msg.hdr.type == MSG_CTL_STATUS) {
				control_status(sv, c);
			} else {
				control_forward_zk(sv, c, &msg);
			}
			ipc_msg_free(&msg);
		}
	}
	client_update_events(sv, c);
}

static void control_accept(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct supervisor *sv = arg;
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
	for (c = sv->clients; c; c = c->next)
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
	c->sv = sv;
	c->id = ++sv->next_client_id;
	ipc_chan_init(&c->chan, cfd, ROLE_SUPERVISOR);
	c->next = sv->clients;
	sv->clients = c;
	if (ev_add_fd(sv->loop, cfd, POLLIN, control_client_event, c) != 0)
		client_free(sv, c);
}

int control_open(struct supervisor *sv)
{
	struct sockaddr_un sa;
	int fd;
	mode_t old;

	if ((size_t)snprintf(sv->ctl_path, sizeof(sv->ctl_path), "%s/pvcnoded.sock",
			     sv->cfg.dynamic_directory) >= sizeof(sa.sun_path)) {
		log_errx("control socket path %s/pvcnoded.sock is too long", sv->cfg.dynamic_directory);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strlcpy_pvc(sa.sun_path, sv->ctl_path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("control socket");
		return -1;
	}
	if (unlink(sv->ctl_path) != 0 && errno != ENOENT)
		log_warn("removing a stale %s", sv->ctl_path);
	old = umask(0077); /* root only, before the path exists */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		log_err("binding %s", sv->ctl_path);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(sv->ctl_path, 0600) != 0 || listen(fd, 16) != 0) {
		log_err("preparing %s", sv->ctl_path);
		close(fd);
		return -1;
	}
	sv->ctl_fd = fd;
	return ev_add_fd(sv->loop, fd, POLLIN, control_accept, sv);
}

void control_close(struct supervisor *sv)
{
	while (sv->clients)
		client_free(sv, sv->clients);
	if (sv->ctl_fd >= 0) {
		ev_del_fd(sv->loop, sv->ctl_fd);
		close(sv->ctl_fd);
		sv->ctl_fd = -1;
		if (unlink(sv->ctl_path) != 0 && errno != ENOENT)
			log_warn("removing %s", sv->ctl_path);
	}
}
