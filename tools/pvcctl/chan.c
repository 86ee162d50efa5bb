/*
 * chan.c: pvcctl's end of the control socket. Every failure ends the program: pvcctl
 * does one thing per run, and there is nothing to retry that the operator would not
 * rather see.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pvcctl.h"

static int chan_zk_send(void *arg, uint32_t type, const char *const *v, uint32_t n)
{
	pvcctl_chan_send(arg, type, ROLE_ZK, v, n);
	return 0;
}

void pvcctl_chan_connect(struct ctl *c, const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		pvcctl_out_die(1, "control socket path too long: %s", path);
	strlcpy_pvc(sa.sun_path, path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		pvcctl_out_die(1, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		pvcctl_out_die(1, "cannot reach pvcnoded at %s: %s", path, strerror(errno));
	if (set_nonblock(fd) != 0)
		pvcctl_out_die(1, "fcntl: %s", strerror(errno));
	ipc_chan_init(&c->chan, fd, ROLE_CTL);
	/* No loop: one request at a time, answered within REPLY_TIMEOUT_MS or never. */
	ipc_zkreq_init(&c->zk, NULL, "c", NULL, chan_zk_send, c);
}

void pvcctl_chan_send(struct ctl *c, uint32_t type, enum pvc_role dest, const char *const *v,
		      uint32_t n)
{
	int rc = n ? ipc_send_strv(&c->chan, type, dest, v, n)
		   : ipc_send(&c->chan, type, dest, NULL, 0, -1);

	if (rc != 0 || ipc_chan_flush_wait(&c->chan, REPLY_TIMEOUT_MS) != 0)
		pvcctl_out_die(1, "cannot send to pvcnoded: %s", strerror(errno));
}

/* Wait for the frame of `type` (MSG_CTL_REPLY). */
void pvcctl_chan_recv(struct ctl *c, uint32_t type, struct reply *out)
{
	uint64_t deadline = mono_ms() + REPLY_TIMEOUT_MS;

	for (;;) {
		struct ipc_msg msg;
		const char *err = NULL;
		uint64_t now = mono_ms();

		if (now >= deadline)
			pvcctl_out_die(1, "no answer from pvcnoded within %d s", REPLY_TIMEOUT_MS / 1000);
		if (ipc_chan_recv_wait(&c->chan, &msg, (int)(deadline - now)) != 0)
			pvcctl_out_die(1, "connection to pvcnoded lost: %s",
				   errno ? strerror(errno) : "closed");
		if (msg.hdr.type != type ||
		    ipc_strv_decode(msg.data, msg.hdr.len, &out->sv, &err) != 0) {
			ipc_msg_free(&msg);
			continue;
		}
		ipc_msg_free(&msg);
		return;
	}
}

