/*
 * run.c: systemctl and patronictl for the api-units worker (workers/common/cmdrun.c
 * runs them): absolute paths only, and an environment of our own.
 */
#include "api.h"

/* The whole environment of a command: nothing of the worker's own. Python
 * (patronictl) writes no bytecode (no file of ours is writable anyway) and reads
 * UTF-8; systemctl pages nothing and asks no password (no terminal anyway). */
static char *const child_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
	"SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", NULL};

int api_run_start(struct cmdrun *c, struct ev_loop *loop, const char *const *argv,
		  unsigned timeout_ms, cmdrun_done_fn done, void *arg)
{
	struct cmdrun_spec spec = {.who = "api-units", .argv = argv, .envp = child_env,
				   .keep_tail = 1, .timeout_ms = timeout_ms};

	return cmdrun_start(c, loop, &spec, done, arg);
}
