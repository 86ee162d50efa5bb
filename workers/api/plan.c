/*
 * plan.c: the order of the api-units commands, as a small state machine without
 * I/O (tests/unit/test_api_plan.c). The reference's order: on takeover the Patroni
 * switchover first (phase 5 of become_primary, retried up to 5 times 5 s apart
 * while still taking over), then pvcapid.service, then pvcapid-worker.service
 * (phase 6); on relinquish pvcapid.service is stopped (become_secondary phase 3).
 * The reference leaves pvcapid-worker running on the old primary; we stop it too,
 * so that exactly one node runs the provisioner worker.
 *
 * One command runs at a time. A new instruction replaces the sequence at once:
 * the caller kills the running command of the old one, so the final state is
 * always that of the last instruction, however quickly they alternate.
 */
#include "api.h"

static const enum api_step takeover[] = {API_STEP_PATRONI, API_STEP_START_API,
					 API_STEP_START_WORKER};
static const enum api_step relinquish[] = {API_STEP_STOP_API, API_STEP_STOP_WORKER};

void api_plan_init(struct api_plan *p)
{
	*p = (struct api_plan){.want = -1};
}

static void plan_load(struct api_plan *p, const enum api_step *s, int n)
{
	for (int i = 0; i < n && i < API_PLAN_MAX_STEPS; i++)
		p->steps[i] = s[i];
	p->nsteps = n;
	p->pos = 0;
	p->patroni_tries = 0;
	p->gen++;
}

enum api_action api_plan_instruct(struct api_plan *p, int primary)
{
	int first = p->want < 0;

	primary = primary ? 1 : 0;
	if (p->want == primary)
		return API_ACT_NONE;
	p->want = primary;
	if (primary)
		plan_load(p, takeover, (int)(sizeof(takeover) / sizeof(takeover[0])));
	else if (first)
		return API_ACT_NONE; /* started on a secondary: nothing of ours runs */
	else
		plan_load(p, relinquish, (int)(sizeof(relinquish) / sizeof(relinquish[0])));
	return p->running ? API_ACT_CANCEL : API_ACT_RUN;
}

enum api_step api_plan_next(struct api_plan *p)
{
	if (p->running || p->pos >= p->nsteps)
		return API_STEP_NONE;
	p->running = 1;
	p->running_gen = p->gen;
	return p->steps[p->pos];
}

unsigned api_plan_done(struct api_plan *p, enum api_result r)
{
	int stale = p->running_gen != p->gen;

	p->running = 0;
	/* a command of a replaced sequence: the new one starts from its beginning */
	if (stale || p->pos >= p->nsteps)
		return 0;
	if (p->steps[p->pos] == API_STEP_PATRONI && r == API_RES_RETRY &&
	    ++p->patroni_tries < API_PATRONI_TRIES)
		return API_PATRONI_RETRY_MS;
	p->pos++;
	return 0;
}

int api_plan_idle(const struct api_plan *p)
{
	return !p->running && p->pos >= p->nsteps;
}

const char *api_plan_step_name(enum api_step s)
{
	switch (s) {
	case API_STEP_PATRONI:
		return "patroni-switchover";
	case API_STEP_START_API:
		return "start pvcapid.service";
	case API_STEP_START_WORKER:
		return "start pvcapid-worker.service";
	case API_STEP_STOP_API:
		return "stop pvcapid.service";
	case API_STEP_STOP_WORKER:
		return "stop pvcapid-worker.service";
	case API_STEP_NONE:
		break;
	}
	return "none";
}
