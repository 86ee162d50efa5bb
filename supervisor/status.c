/*
 * status.c: what `pvcctl status` shows: the node, the supervisor, and per worker
 * its pid, state, uptime, restarts, last exit and the lines of its last MSG_STATUS.
 */
#include <stdio.h>
#include <unistd.h>

#include "priv.h"
#include "supervisor.h"

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

/* Probed again, not remembered: the workers confine themselves on this same kernel
 * at every (re)start, so the kernel's answer now is what the running workers got
 * (a worker that cannot apply it exits and is not counted as running). */
static void sup_status_landlock(struct supervisor *sv, struct ipc_strv_buf *b)
{
	char text[256];

	if (priv_landlock_decide(priv_landlock_abi(), sv->cfg.allow_no_landlock, text,
				 sizeof(text)) != 0)
		snprintf(text, sizeof(text), "unavailable and not allowed");
	strvb_addf(b, "sandbox.landlock=%s", text);
}

void sup_status_fill(struct supervisor *sv, struct ipc_strv_buf *b)
{
	uint64_t now = mono_ms();

	strvb_addf(b, "node=%s", sv->cfg.node_name);
	strvb_addf(b, "mode=%s", sv->cfg.is_coordinator ? "coordinator" : "hypervisor");
	strvb_addf(b, "version=%s", PVC_VERSION);
	strvb_addf(b, "supervisor.pid=%d", (int)getpid());
	strvb_addf(b, "supervisor.uptime_s=%llu",
		   (unsigned long long)((now - sv->start_ms) / 1000));
	strvb_addf(b, "supervisor.state=%s", sv->stopping ? "stopping" : "running");
	sup_status_landlock(sv, b);
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		struct child *k = &sv->kids[r];
		const char *n = role_name(k->role);

		if (!k->wanted)
			continue;
		strvb_addf(b, "worker.%s.pid=%d", n, (int)k->pid);
		strvb_addf(b, "worker.%s.state=%s", n, state_name(k->state));
		strvb_addf(b, "worker.%s.uptime_s=%llu", n,
			   (unsigned long long)(k->pid > 0 ? (now - k->started_ms) / 1000 : 0));
		strvb_addf(b, "worker.%s.restarts=%u", n, k->restarts);
		if (k->last_exit)
			strvb_addf(b, "worker.%s.last_exit=%s", n, k->last_exit);
		for (uint32_t i = 0; i < k->nstatus; i++)
			strvb_addf(b, "%s.%s", n, k->status[i]);
	}
}
