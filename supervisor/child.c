/*
 * child.c: a worker's channel seen from the supervisor: queueing and forwarding
 * frames to it, and cutting it off (kill) when it breaks the protocol or hangs.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "log.h"
#include "supervisor.h"

void sup_child_clear_status(struct child *k)
{
	for (uint32_t i = 0; i < k->nstatus; i++)
		free(k->status[i]);
	free(k->status);
	k->status = NULL;
	k->nstatus = 0;
}

void sup_child_update_events(struct supervisor *sv, struct child *k)
{
	short ev = POLLIN;

	if (k->chan.fd < 0)
		return;
	if (ipc_chan_pending(&k->chan))
		ev |= POLLOUT;
	ev_mod_fd(sv->loop, k->chan.fd, ev);
}

/* Queue to a worker; a frame for a worker that is down is dropped (it re-learns its
 * desired state through its HELLO when it is back). */
int sup_child_send(struct supervisor *sv, struct child *k, uint32_t type, const void *data,
		   size_t len)
{
	if (k->chan.fd < 0 || k->state == CHILD_DOWN || k->state == CHILD_STOPPED)
		return -1;
	if (ipc_send(&k->chan, type, k->role, data, len, -1) != 0) {
		log_warn("queueing %s for %s", ipc_type_name(type), role_name(k->role));
		return -1;
	}
	if (ipc_chan_flush(&k->chan) < 0)
		return -1;
	sup_child_update_events(sv, k);
	return 0;
}

int sup_child_forward(struct supervisor *sv, enum pvc_role dest, const struct ipc_msg *msg)
{
	struct child *k = &sv->kids[dest];

	if (k->chan.fd < 0 || (k->state != CHILD_RUNNING && k->state != CHILD_STARTING &&
			       k->state != CHILD_STOPPING)) {
		log_debug("dropped %s for %s: worker not running", ipc_type_name(msg->hdr.type),
			  role_name(dest));
		return -1;
	}
	if (ipc_forward(&k->chan, msg) != 0) {
		log_warn("forwarding %s to %s", ipc_type_name(msg->hdr.type), role_name(dest));
		return -1;
	}
	if (ipc_chan_flush(&k->chan) < 0)
		return -1;
	sup_child_update_events(sv, k);
	return 0;
}

/* Cut off a worker that broke the protocol: kill it; the reaper restarts it. */
void sup_child_kill(struct supervisor *sv, struct child *k, const char *why)
{
	log_errx("killing %s (pid %d): %s", role_name(k->role), (int)k->pid, why);
	if (k->chan.fd >= 0) {
		ev_del_fd(sv->loop, k->chan.fd);
		ipc_chan_close(&k->chan);
	}
	if (k->pid > 0 && kill(k->pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("kill %d", (int)k->pid);
}
