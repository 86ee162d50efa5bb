/*
 * heartbeat.c: every heartbeat_interval_ms the supervisor pings each running worker;
 * one that answered none of its pings for hang_timeout_ms (or sent no READY within
 * the start-up timeout) is killed and restarted. While all are healthy, systemd's
 * watchdog is fed on the same tick.
 */
#include <stdio.h>

#include "log.h"
#include "supervisor.h"

#define STARTUP_TIMEOUT_MS 15000

static void heartbeat(struct ev_loop *loop, void *arg);

/* Without its timer the supervisor would neither see hung workers nor feed systemd's
 * watchdog: exit with the escalation status (systemd restarts the daemon) rather than
 * run blind. ev_timer() fails only when its table is full, which is a bug. */
static void sup_heartbeat_arm(struct supervisor *sv, uint64_t after_ms)
{
	if (ev_timer(sv->loop, after_ms, heartbeat, sv) == 0)
		fatal_code(3, "cannot arm the heartbeat timer: hung workers would go unnoticed");
}

static void heartbeat(struct ev_loop *loop, void *arg)
{
	struct supervisor *sv = arg;
	uint64_t now = mono_ms();
	int healthy = 1;

	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		struct child *k = &sv->kids[r];
		if (k->state == CHILD_STARTING && now - k->started_ms > STARTUP_TIMEOUT_MS) {
			sup_child_kill(sv, k, "no READY within the start-up timeout");
			healthy = 0;
			continue;
		}
		/* A worker waiting for its restart (backoff up to restart_backoff_max_ms,
		 * as long as WatchdogSec by default) or starting within its time is in the
		 * supervisor's hands: withholding WATCHDOG=1 then would make systemd kill
		 * the whole daemon and defeat the per-worker restart. Only a worker that
		 * hangs or will not start (killed above/below, and again every tick until
		 * it is reaped) withholds it. */
		if (k->state != CHILD_RUNNING && k->state != CHILD_STOPPING)
			continue;
		if (k->state == CHILD_RUNNING &&
		    now - k->last_pong_ms > (uint64_t)sv->cfg.hang_timeout_ms) {
			char why[96];
			snprintf(why, sizeof(why), "no heartbeat answer for %llu ms (hung)",
				 (unsigned long long)(now - k->last_pong_ms));
			sup_child_kill(sv, k, why);
			healthy = 0;
			continue;
		}
		k->ping_nonce++;
		struct ipc_u64 v = {.value = k->ping_nonce};
		(void)sup_child_send(sv, k, MSG_PING, &v, sizeof(v));
	}
	/* Also while stopping: the stop sequence is bounded by its step timers, and a
	 * missing ping would let systemd's watchdog cut it short. */
	if (healthy && sv->watchdog_usec)
		notify_send("WATCHDOG=1");
	sup_heartbeat_arm(sv, (uint64_t)sv->cfg.heartbeat_interval_ms);
}

void sup_heartbeat_start(struct supervisor *sv)
{
	uint64_t first = (uint64_t)sv->cfg.heartbeat_interval_ms;

	if (sv->watchdog_usec && sv->watchdog_usec / 2000 < first)
		log_warnx("WatchdogSec is shorter than twice the heartbeat interval");
	sup_heartbeat_arm(sv, first);
}
