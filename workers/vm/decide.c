/*
 * decide.c: the decision table of ref §5.3 as a pure function, and the states of
 * ref §5.2. Unit-tested row by row (tests/unit/test_vm_decide.c).
 */
#include <string.h>

#include "vm_domain.h"

static const char *const states[] = {"start", "restart", "shutdown", "stop", "migrate",
				     "disable", "fail", "provision", "delete", "stopped",
				     "unmigrate", NULL};

int vm_decide_state_valid(const char *s)
{
	for (int i = 0; states[i]; i++)
		if (strcmp(s, states[i]) == 0)
			return 1;
	return 0;
}

#define IS(x) (strcmp(state, (x)) == 0)

static enum vm_action owner_running(const char *state)
{
	if (IS("start"))
		return VA_ADOPT;
	if (IS("migrate"))
		return VA_ADOPT_WRITE_START;
	if (IS("restart"))
		return VA_RESTART;
	if (IS("shutdown"))
		return VA_SHUTDOWN;
	if (IS("stop"))
		return VA_STOP;
	return VA_NONE;
}

static enum vm_action owner_stopped(const char *state)
{
	if (IS("start"))
		return VA_START;
	if (IS("migrate"))
		return VA_RECEIVE;
	if (IS("restart"))
		return VA_WRITE_START;
	if (IS("shutdown") || IS("stop"))
		return VA_FORGET;
	return VA_NONE;
}

enum vm_action vm_decide_action(int owner, int running, const char *state)
{
	if (state == NULL || !vm_decide_state_valid(state))
		return VA_NONE;
	if (owner)
		return running ? owner_running(state) : owner_stopped(state);
	if (running) {
		if (IS("migrate"))
			return VA_MIGRATE_OUT;
		if (IS("shutdown"))
			return VA_SHUTDOWN;
		return VA_TERMINATE;
	}
	return VA_NONE;
}

#undef IS

const char *vm_decide_action_name(enum vm_action a)
{
	static const char *const n[VA_COUNT] = {
		"none", "adopt", "adopt+state=start", "restart", "shutdown", "stop", "start",
		"receive", "state=start", "forget", "migrate", "terminate"};

	return a < VA_COUNT ? n[a] : "?";
}
