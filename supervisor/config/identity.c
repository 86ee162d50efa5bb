/*
 * identity.c: who this node is: pvc.node (else the short host name), the domain of
 * the host name, and the node id (the last run of digits in the name, else 1).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "config_int.h"
#include "pvc.h"

/* Node identity: pvc.node or the short host name; domain from the real host name. */
int config_identity_load(struct ld *l, yaml_node_t *pvc, const char *hostname,
			 struct pvc_config *cfg)
{
	char host[256], path[KEYPATH_MAX], shortname[256];
	const char *dot, *p, *run_end = NULL, *run_start;
	yaml_node_t *n;
	long long id = 1;
	int r;

	if (hostname) {
		snprintf(host, sizeof host, "%s", hostname);
	} else {
		if (gethostname(host, sizeof host) < 0)
			return err_node(l, pvc, "pvc.node", "cannot determine the host name: %s",
					strerror(errno));
		host[sizeof host - 1] = '\0';
	}
	dot = strchr(host, '.');
	snprintf(shortname, sizeof shortname, "%.*s", dot ? (int)(dot - host) : (int)strlen(host),
		 host);
	/* shortname came from host[256]: it fits host_short_name (CFG_TEXT_MAX = 256) */
	snprintf(cfg->host_short_name, sizeof cfg->host_short_name, "%s", shortname);
	if (copy_str(cfg->domain_name, sizeof cfg->domain_name, dot ? dot + 1 : "") < 0)
		return err_node(l, pvc, "pvc.node", "the host's domain name \"%.40s...\" is too long",
				dot + 1);

	r = config_map_get(l, pvc, "pvc", "node", 0, &n, path, sizeof path);
	TRY(r);
	if (r) {
		char got[SHOW_MAX * 4 + 32];

		if (n->type != YAML_SCALAR_NODE || scalar_len(n) >= sizeof cfg->node_name ||
		    strlen(scalar_text(n)) != scalar_len(n) || !valid_node_name(scalar_text(n))) {
			config_error_describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected a node name (1 to 63 characters of "
					"[A-Za-z0-9_.-], not starting with '.' or '-'), got %s",
					got);
		}
		memcpy(cfg->node_name, scalar_text(n), scalar_len(n) + 1);
	} else {
		char shown[SHOW_MAX * 4 + 8];

		if (strlen(shortname) >= sizeof cfg->node_name || !valid_node_name(shortname)) {
			config_error_show(shown, sizeof shown, shortname, strlen(shortname));
			return err_node(l, pvc, path,
					"not set, and the short host name \"%s\" is not a valid node "
					"name; set pvc.node",
					shown);
		}
		memcpy(cfg->node_name, shortname, strlen(shortname) + 1);
	}

	/* node id: the last run of decimal digits, else 1 */
	for (p = cfg->node_name; *p; p++)
		if (*p >= '0' && *p <= '9')
			run_end = p + 1;
	if (run_end) {
		run_start = run_end;
		while (run_start > cfg->node_name && run_start[-1] >= '0' && run_start[-1] <= '9')
			run_start--;
		while (run_start < run_end - 1 && *run_start == '0')
			run_start++;
		if (run_end - run_start > 6)
			return err_node(l, r ? n : pvc, path,
					"the node id (the last number in the node name \"%s\") must "
					"be at most 999999",
					cfg->node_name);
		id = 0;
		for (p = run_start; p < run_end; p++)
			id = id * 10 + (*p - '0');
	}
	cfg->node_id = (int)id;
	return 0;
}

int config_node_name_warning(const struct pvc_config *cfg, char *buf, size_t size)
{
	if (strcmp(cfg->node_name, cfg->host_short_name) == 0)
		return 0;
	snprintf(buf, size,
		 "WARNING: pvc.node \"%s\" differs from this host's short name \"%s\": this "
		 "node registers in ZooKeeper as \"%s\", where PVC's reference daemon would "
		 "use \"%s\"; every node, the API and fencing (<node>-lom) must know it by "
		 "that name. Remove pvc.node unless this is intended",
		 cfg->node_name, cfg->host_short_name, cfg->node_name, cfg->host_short_name);
	return 1;
}
