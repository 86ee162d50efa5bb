/*
 * run.c: ipmitool for the fence worker (workers/common/cmdrun.c runs it). The
 * password travels only in the command's environment (ipmitool -E reads
 * IPMI_PASSWORD): argv is world-readable in /proc, the environment is not (and the
 * worker is non-dumpable, which its children inherit until exec).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fence.h"
#include "log.h"

/* PATH and IPMI_PASSWORD only: nothing else of the worker's environment. */
static int child_env(const char *password, char **pathvar, char **pwvar, size_t pl)
{
	const char *path = getenv("PATH");

	if (path == NULL || path[0] == '\0')
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	if (asprintf(pathvar, "PATH=%s", path) < 0) {
		*pathvar = NULL;
		return -1;
	}
	*pwvar = malloc(pl);
	if (*pwvar == NULL)
		return -1;
	snprintf(*pwvar, pl, "IPMI_PASSWORD=%s", password);
	return 0;
}

int fence_run_start(struct cmdrun *c, struct ev_loop *loop, const char *const *argv,
		    const char *password, unsigned timeout_ms, cmdrun_done_fn done, void *arg)
{
	char *pathvar = NULL, *pwvar = NULL;
	char *envp[3];
	size_t pl = strlen(password) + sizeof("IPMI_PASSWORD=");
	struct cmdrun_spec spec = {.who = "fence", .argv = argv, .envp = envp, .search_path = 1,
				   .timeout_ms = timeout_ms};
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (child_env(password, &pathvar, &pwvar, pl) != 0) {
		log_errx("fence: out of memory for the command's environment");
		goto out;
	}
	envp[0] = pathvar;
	envp[1] = pwvar;
	envp[2] = NULL;
	rc = cmdrun_start(c, loop, &spec, done, arg);
out:
	if (pwvar) {
		explicit_bzero(pwvar, pl);
		free(pwvar);
	}
	free(pathvar);
	return rc;
}
