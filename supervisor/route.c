/*
 * route.c: frames from a worker. Each must come from the role of its channel (else
 * the worker is killed) and pass the policy table; then it is forwarded to another
 * worker, answered here (READY, PONG, STATUS, LOG, ZK_SESSION, SHUTDOWN_DONE), or
 * handed to the control socket (replies to pvcctl). Before all that, each frame is
 * charged to its role's budget (quota.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "supervisor.h"

/* Status lines end up on an operator's terminal (pvcctl status): cleaned like log
 * text. Kept whole otherwise (up to a frame's size, replaced by the next). */
static void store_status(struct child *k, const struct ipc_msg *msg)
{
	struct ipc_strv sv;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, NULL) != 0)
		return;
	for (uint32_t i = 0; i < sv.n; i++) {
		size_t cap = (size_t)sv.lens[i] * 4 + 1;
		char *c = malloc(cap);

		if (c == NULL) {
			ipc_strv_free(&sv);
			return;
		}
		(void)sup_wtext_clean(c, cap, sv.v[i], sv.lens[i]);
		free(sv.v[i]);
		sv.v[i] = c;
	}
	sup_child_clear_status(k);
	k->status = sv.v;
	k->nstatus = sv.n;
	free(sv.lens);
}

/* A worker's log line, under its role's log budget. Its text is cleaned
 * (wtext.c): no forged lines, no terminal control. */
void sup_route_log_line(struct child *k, const struct ipc_msg *msg)
{
	struct ipc_strv sv;
	char prefix[160], who[96], text[4096];

	if (!sup_quota_allow(sup_of_child(k), k, SUP_QUOTA_LOG))
		return;
	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, NULL) != 0)
		return;
	if (sv.n == 3 && sv.lens[0] == 1) {
		char state = sv.v[0][0];

		/* only the reference's state letters (and debug); anything else is info */
		if (strchr("oewtis0d", state) == NULL)
			state = 'i';
		(void)sup_wtext_clean(who, sizeof(who), sv.v[1], sv.lens[1]);
		(void)sup_wtext_clean(text, sizeof(text), sv.v[2], sv.lens[2]);
		/* the role name is always part of the prefix: operators see who spoke */
		if (who[0] && strcmp(who, role_name(k->role)) != 0)
			snprintf(prefix, sizeof(prefix), "%s: %s", role_name(k->role), who);
		else
			snprintf(prefix, sizeof(prefix), "%s", role_name(k->role));
		log_write_line(state, prefix, text);
	}
	ipc_strv_free(&sv);
}

static int all_workers_ready(struct supervisor *sv)
{
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++)
		if (sv->kids[r].wanted && sv->kids[r].state != CHILD_RUNNING)
			return 0;
	return 1;
}

static void dispatch(struct supervisor *sv, struct child *k, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case MSG_READY:
		/* Only a starting worker becomes ready: a READY from a worker being stopped
		 * would put it back to RUNNING and make the shutdown sequence ask it again. */
		if (k->state != CHILD_STARTING) {
			sup_quota_warn(sv, k, "unexpected MSG_READY from %s", role_name(k->role));
			break;
		}
		k->state = CHILD_RUNNING;
		k->ready_ms = mono_ms();
		k->last_pong_ms = k->ready_ms;
		log_ok("%s ready (pid %d, %llu ms after start)", role_name(k->role), (int)k->pid,
		       (unsigned long long)(k->ready_ms - k->started_ms));
		if (!sv->notified_ready && all_workers_ready(sv)) {
			sv->notified_ready = 1;
			notify_send("READY=1\nSTATUS=all workers running");
			log_sys("all workers running");
		}
		break;
	case MSG_PONG: {
		struct ipc_u64 v;
		memcpy(&v, msg->data, sizeof(v));
		/* Any ping of this incarnation not answered yet proves the loop runs now: a
		 * worker whose answers take longer than one heartbeat interval (but less
		 * than hang_timeout_ms) is slow, not hung. A nonce never sent is ignored. */
		if (v.value > k->pong_nonce && v.value <= k->ping_nonce) {
			k->pong_nonce = v.value;
			k->last_pong_ms = mono_ms();
		}
		break;
	}
	case MSG_STATUS:
		store_status(k, msg);
		break;
	case MSG_LOG:
		sup_route_log_line(k, msg);
		break;
	case MSG_ZK_SESSION:
		memcpy(&sv->zk_session, msg->data, sizeof(sv->zk_session));
		log_info("zk-election session 0x%llx saved for restarts",
			 (unsigned long long)sv->zk_session.client_id);
		break;
	case MSG_VM_CONSOLE_OPEN:
		sup_console_open(sv, k, msg);
		break;
	case MSG_META_LISTEN_OPEN:
		sup_meta_listen_open(sv, k);
		break;
	case MSG_SHUTDOWN_DONE:
		k->shutdown_done = 1;
		if (sv->stopping)
			sup_shutdown_step(sv);
		break;
	default:
		sup_quota_warn(sv, k, "unexpected %s from %s", ipc_type_name(msg->hdr.type),
			       role_name(k->role));
		break;
	}
}

static void route(struct supervisor *sv, struct child *k, struct ipc_msg *msg)
{
	enum pvc_role dest = msg->hdr.dest;

	if (!policy_allowed(msg->hdr.type, k->role, dest)) {
		sup_quota_warn(sv, k, "dropped %s from %s to %s: not allowed by the policy table",
			       ipc_type_name(msg->hdr.type), role_name(k->role), role_name(dest));
		return;
	}
	if (msg->hdr.flags & IPC_F_FD) {
		/* no message a worker may send carries a descriptor */
		sup_quota_warn(sv, k, "dropped %s from %s: unexpected file descriptor",
			       ipc_type_name(msg->hdr.type), role_name(k->role));
		return;
	}
	if (dest == ROLE_SUPERVISOR)
		dispatch(sv, k, msg);
	else if (dest == ROLE_CTL)
		control_route_reply(sv->ctl, msg);
	else
		(void)sup_child_forward(sv, dest, msg);
}

/* Log lines have their own budget (sup_route_log_line): a chatty worker keeps its
 * protocol frames, a flooding one cannot hide its logs' suppression. The heartbeat
 * and lifecycle answers are never dropped: each only updates a few fields here, and
 * dropping a PONG would get a merely chatty worker killed as hung. */
static int frame_within_budget(struct supervisor *sv, struct child *k,
			       const struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case MSG_LOG:
	case MSG_PONG:
	case MSG_READY:
	case MSG_SHUTDOWN_DONE:
		if (msg->hdr.dest == ROLE_SUPERVISOR)
			return 1;
		break;
	default:
		break;
	}
	return sup_quota_allow(sv, k, SUP_QUOTA_FRAME);
}

static int frame(void *arg, struct ipc_msg *msg)
{
	struct child *k = arg;
	struct supervisor *sv = sup_of_child(k);

	if (msg->hdr.sender != k->role) {
		sup_child_kill(sv, k, "frame claims to come from another role");
		return 1;
	}
	if (!frame_within_budget(sv, k, msg))
		return 0;
	route(sv, k, msg);
	return k->chan.fd < 0; /* the route cut the worker off */
}

void sup_route_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct child *k = arg;
	struct supervisor *sv = sup_of_child(k);
	const char *err = NULL;
	char why[160];

	switch (ipc_drain(&k->chan, revents, frame, k, &err)) {
	case IPC_DRAIN_CLOSED:
		/* the worker is gone; SIGCHLD does the rest */
		ev_del_fd(loop, fd);
		ipc_chan_close(&k->chan);
		return;
	case IPC_DRAIN_BAD:
		snprintf(why, sizeof(why), "malformed frame: %s", err);
		sup_child_kill(sv, k, why);
		return;
	case IPC_DRAIN_STOPPED:
		return;
	default:
		sup_child_update_events(sv, k);
		return;
	}
}
