/*
 * api.c: pvc.system.api, the commands api-units runs when this node takes over or
 * relinquishes the primary role: systemctl (start/stop pvcapid.service and
 * pvcapid-worker.service) and patronictl (switchover). The worker runs them
 * without root, so a program the daemon execs must be one only root can change:
 * a path given here is checked at load (absolute, a regular file, executable,
 * owned by root, writable by nobody else). The defaults are checked by the worker
 * when it runs them (a coordinator without Patroni still loads its configuration).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config_int.h"

#define DEF_SYSTEMCTL "/usr/bin/systemctl"
#define DEF_PATRONICTL "/usr/bin/patronictl"
#define DEF_COMMAND_TIMEOUT_MS 120000

static const char *const K_API[] = { "systemctl", "patronictl", "command_timeout_ms", NULL };

/* An absolute path to a root-owned executable that only root may write. */
static int load_command(struct ld *l, yaml_node_t *m, const char *mpath, const char *key,
			int check, char *out, size_t outsz, int *set)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n = NULL;
	struct stat st;
	int r = config_field_str(l, m, mpath, key, 0, S_NONEMPTY, out, outsz, &n);

	TRY(r);
	if (set)
		*set = r;
	if (r == 0)
		return 0;
	config_map_path(path, sizeof path, mpath, key);
	if (out[0] != '/')
		return err_node(l, n, path, "expected an absolute path, got \"%s\"", out);
	if (!check)
		return 0;
	if (stat(out, &st) != 0)
		return err_node(l, n, path, "%s: %s", out, strerror(errno));
	if (!S_ISREG(st.st_mode) || (st.st_mode & S_IXUSR) == 0)
		return err_node(l, n, path, "%s is not an executable file", out);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return err_node(l, n, path,
				"%s must be owned by root and writable by nobody else (it runs "
				"for the api-units worker), got uid %u mode %04o",
				out, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

int config_api_load(struct ld *l, yaml_node_t *sys, const char *spath, struct pvc_config *cfg)
{
	char p[KEYPATH_MAX];
	yaml_node_t *m;
	/* only where api-units runs: a hypervisor's copy of the file need not have them */
	int check = cfg->is_coordinator && cfg->enable_api;

	snprintf(cfg->api_systemctl, sizeof cfg->api_systemctl, "%s", DEF_SYSTEMCTL);
	snprintf(cfg->api_patronictl, sizeof cfg->api_patronictl, "%s", DEF_PATRONICTL);
	cfg->api_systemctl_set = 0;
	cfg->api_command_timeout_ms = DEF_COMMAND_TIMEOUT_MS;
	TRY(config_field_map(l, sys, spath, "api", 0, K_API, &m, p, sizeof p));
	TRY(load_command(l, m, p, "systemctl", check, cfg->api_systemctl,
			 sizeof cfg->api_systemctl, &cfg->api_systemctl_set));
	TRY(load_command(l, m, p, "patronictl", check, cfg->api_patronictl,
			 sizeof cfg->api_patronictl, NULL));
	TRY(config_field_int(l, m, p, "command_timeout_ms", 0, 100, 3600000,
			     &cfg->api_command_timeout_ms, NULL));
	return 0;
}
