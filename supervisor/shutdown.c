/*
 * shutdown.c: the orderly stop. Reference §2.8 in the corrected order: daemonstate
 * shutdown, let flush stop between moves, stop VM supervision (VMs keep running),
 * give up primary and close the session (zk-election phase 2: relinquish, final keepalive, `stop`), and last
 * net-router (which removes any primary address still present).
 */
#include <signal.h>

#include "log.h"
#include "supervisor.h"

struct stop_step {
	enum pvc_role role;
	uint32_t phase;
	unsigned timeout_ms;
	int kill_after; /* stop the worker once it acknowledged */
};

static const struct stop_step stop_steps[] = {
	{ROLE_ZK, 1, 5000, 0},
	{ROLE_FENCE, 1, 5000, 1},
	{ROLE_FLUSH, 1, 10000, 1},
	{ROLE_VM, 1, 5000, 1},
	{ROLE_ZK, 2, 12000, 1},
	/* zk-election has handed the primary over (MSG_SVC_PRIMARY 0 sent): the services
	 * stop what they run before net-router removes the floating addresses */
	{ROLE_API, 1, 10000, 1},
	{ROLE_META, 1, 5000, 1},
	{ROLE_DNS, 1, 10000, 1},
	{ROLE_CEPH, 1, 5000, 1},
	{ROLE_NET, 1, 5000, 1},
};

static void step_timeout(struct ev_loop *loop, void *arg)
{
	struct supervisor *sv = arg;
	const struct stop_step *st;
	struct child *k;

	sv->step_timer = 0;
	if ((size_t)sv->stop_step >= sizeof(stop_steps) / sizeof(stop_steps[0]))
		return;
	st = &stop_steps[sv->stop_step];
	k = &sv->kids[st->role];
	log_warnx("%s did not finish shutdown phase %u in %u ms; killing it", role_name(st->role),
		  st->phase, st->timeout_ms);
	k->shutdown_done = 1;
	if (k->pid > 0)
		kill(k->pid, SIGKILL);
	else
		sup_shutdown_step(sv);
}

static void finish(struct supervisor *sv)
{
	notify_send("STOPPING=1");
	log_sys("pvcnoded stopped (exit status %d)", sv->exit_code);
	ev_break(sv->loop);
}

/* Leave the current step. Its timer must go with it, whichever way the step ended
 * (answer, death of the worker): left running, it would fire during a later step
 * and kill that step's worker before its time. */
static void step_next(struct supervisor *sv)
{
	if (sv->step_timer) {
		ev_timer_cancel(sv->loop, sv->step_timer);
		sv->step_timer = 0;
	}
	sv->stop_step++;
}

/* Ask a running worker for the step's phase: 0 if asked (wait for its answer or the
 * step timer), -1 if the request could not be sent (the step counts as answered). */
static int ask(struct supervisor *sv, const struct stop_step *st, struct child *k)
{
	struct ipc_shutdown s = {.phase = st->phase};

	k->shutdown_done = 0;
	k->state = CHILD_STOPPING;
	log_sys("stopping: %s phase %u", role_name(st->role), st->phase);
	if (sv->step_timer) { /* never two step timers */
		ev_timer_cancel(sv->loop, sv->step_timer);
		sv->step_timer = 0;
	}
	if (sup_child_send(sv, k, MSG_SHUTDOWN, &s, sizeof(s)) != 0) {
		k->shutdown_done = 1;
		return -1;
	}
	sv->step_timer = ev_timer(sv->loop, st->timeout_ms, step_timeout, sv);
	return 0;
}

/* Advance the shutdown sequence as far as possible. */
void sup_shutdown_step(struct supervisor *sv)
{
	const size_t nsteps = sizeof(stop_steps) / sizeof(stop_steps[0]);

	while ((size_t)sv->stop_step < nsteps) {
		const struct stop_step *st = &stop_steps[sv->stop_step];
		struct child *k = &sv->kids[st->role];
		int alive = k->pid > 0 && k->chan.fd >= 0;

		if (k->state == CHILD_STOPPING && !k->shutdown_done && alive)
			return; /* waiting for its answer or the step timer */
		if (k->state == CHILD_STOPPING && k->shutdown_done) {
			if (sv->step_timer) {
				ev_timer_cancel(sv->loop, sv->step_timer);
				sv->step_timer = 0;
			}
			if (st->kill_after && k->pid > 0) {
				kill(k->pid, SIGKILL);
				return; /* the reaper calls us again */
			}
			k->state = st->kill_after ? CHILD_STOPPED : CHILD_RUNNING;
			step_next(sv);
			continue;
		}
		/* A worker still starting (killed by sup_shutdown_begin) has nothing
		 * to hand over: wait for its reap instead of asking it. */
		if (k->state == CHILD_STOPPED || k->state == CHILD_STARTING || !alive) {
			if (k->restart_timer) {
				ev_timer_cancel(sv->loop, k->restart_timer);
				k->restart_timer = 0;
			}
			if (k->pid > 0)
				kill(k->pid, SIGKILL);
			if (k->pid > 0)
				return;
			k->state = CHILD_STOPPED;
			step_next(sv);
			continue;
		}
		/* running: ask it */
		if (ask(sv, st, k) == 0)
			return;
	}
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++)
		if (sv->kids[r].pid > 0)
			return; /* wait for the last reaps */
	finish(sv);
}

void sup_shutdown_begin(struct supervisor *sv, int exit_code, const char *why)
{
	if (sv->stopping) {
		if (exit_code > sv->exit_code)
			sv->exit_code = exit_code;
		return;
	}
	sv->stopping = 1;
	sv->exit_code = exit_code;
	sv->stop_step = 0;
	if (exit_code == PVC_EXIT_ESCALATED)
		log_errx("escalating: %s; stopping everything (exit status %d)", why, exit_code);
	else
		log_sys("stopping: %s", why);
	notify_send("STOPPING=1");
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		struct child *k = &sv->kids[r];
		if (k->restart_timer) {
			ev_timer_cancel(sv->loop, k->restart_timer);
			k->restart_timer = 0;
		}
		if (k->state == CHILD_DOWN)
			k->state = CHILD_STOPPED;
		if (k->state == CHILD_STARTING && k->pid > 0) {
			/* not ready yet: nothing to hand over */
			kill(k->pid, SIGKILL);
		}
	}
	sup_shutdown_step(sv);
}
