/*
 * configuration.c: pvc.system.configuration: directories, logging, and the host's
 * networking (bridge device, and the upstream, cluster and storage interfaces, whose
 * address may be "by-id": the node id-th host of the network).
 */
#include <stdio.h>

#include "config_int.h"

static const char *const K_CONFIGURATION[] = { "directories", "logging", "networking", NULL };
static const char *const K_DIRECTORIES[] = { "dynamic_directory", "log_directory",
					     "console_log_directory", NULL };
static const char *const K_LOGGING[] = { "file_logging",
					 "stdout_logging",
					 "log_colours",
					 "log_dates",
					 "log_keepalives",
					 "log_keepalive_cluster_details",
					 "log_keepalive_storage_details",
					 "console_log_lines",
					 NULL };
static const char *const K_NETWORKING[] = { "bridge_device", "upstream", "cluster", "storage",
					    NULL };
static const char *const K_IFACE[] = { "device", "mtu", "address", NULL };

static int load_directories(struct ld *l, yaml_node_t *m1, const char *p1,
			    struct pvc_config *cfg)
{
	char p2[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *m2, *n;

	TRY(config_field_map(l, m1, p1, "directories", 1, K_DIRECTORIES, &m2, p2, sizeof p2));
	TRY(config_map_need(l, m2, p2, "dynamic_directory", &n, path, sizeof path));
	TRY(config_value_dir(l, n, path, cfg->dynamic_directory));
	TRY(config_map_need(l, m2, p2, "log_directory", &n, path, sizeof path));
	TRY(config_value_dir(l, n, path, cfg->log_directory));
	TRY(config_map_need(l, m2, p2, "console_log_directory", &n, path, sizeof path));
	TRY(config_value_dir(l, n, path, cfg->console_log_directory));
	return 0;
}

static int load_logging(struct ld *l, yaml_node_t *m1, const char *p1, struct pvc_config *cfg)
{
	char p2[KEYPATH_MAX];
	yaml_node_t *m2;

	TRY(config_field_map(l, m1, p1, "logging", 1, K_LOGGING, &m2, p2, sizeof p2));
	TRY(config_field_bool(l, m2, p2, "file_logging", 1, &cfg->file_logging));
	TRY(config_field_bool(l, m2, p2, "stdout_logging", 1, &cfg->stdout_logging));
	TRY(config_field_bool(l, m2, p2, "log_colours", 1, &cfg->log_colours));
	TRY(config_field_bool(l, m2, p2, "log_dates", 1, &cfg->log_dates));
	TRY(config_field_bool(l, m2, p2, "log_keepalives", 1, &cfg->log_keepalives));
	TRY(config_field_bool(l, m2, p2, "log_keepalive_cluster_details", 1,
			      &cfg->log_keepalive_cluster_details));
	TRY(config_field_bool(l, m2, p2, "log_keepalive_storage_details", 1,
			      &cfg->log_keepalive_storage_details));
	TRY(config_field_int(l, m2, p2, "console_log_lines", 1, 0, 100000, &cfg->console_log_lines,
			     NULL));
	return 0;
}

static int load_iface(struct ld *l, yaml_node_t *nw, const char *which, int req,
		      const struct cfg_network *netw, const char *netname, struct cfg_iface *out,
		      int node_id)
{
	char mpath[KEYPATH_MAX], path[KEYPATH_MAX], netpath[KEYPATH_MAX];
	yaml_node_t *map, *n;

	TRY(config_field_map(l, nw, "pvc.system.configuration.networking", which, req, K_IFACE,
			     &map, mpath, sizeof mpath));
	if (!map)
		return 0;
	snprintf(netpath, sizeof netpath, "pvc.cluster.networks.%s.network", netname);

	TRY(config_map_need(l, map, mpath, "device", &n, path, sizeof path));
	TRY(config_value_ifname(l, n, path, out->device));
	TRY(config_field_int(l, map, mpath, "mtu", 1, 576, 65535, &out->mtu, NULL));

	TRY(config_map_need(l, map, mpath, "address", &n, path, sizeof path));
	if (scalar_is(n, "None") || scalar_is(n, "none")) {
		memset(&out->address, 0, sizeof out->address);
		out->address.prefix = -1;
	} else if (scalar_is(n, "by-id")) {
		if (!netw->network.set)
			return err_node(l, n, path, "by-id needs %s, which is not set", netpath);
		if (config_addr_nth_host(&netw->network, node_id, &out->address) < 0)
			return err_node(l, n, path,
					"by-id: node id %d has no usable host address in %s (%s): "
					"the network is too small",
					node_id, netw->network.text, netpath);
	} else {
		char got[SHOW_MAX * 4 + 32];

		if (n->type != YAML_SCALAR_NODE || is_null(n)) {
			config_error_describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected None, by-id or an address/prefix, got %s", got);
		}
		TRY(config_addr_host(l, n, path, &netw->network, netpath, 1, &out->address));
	}
	return 0;
}

static int load_networking(struct ld *l, yaml_node_t *m1, const char *p1,
			   struct pvc_config *cfg)
{
	char p2[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *m2, *n;
	int net = cfg->enable_networking, r;

	TRY(config_field_map(l, m1, p1, "networking", net, K_NETWORKING, &m2, p2, sizeof p2));
	r = config_map_get(l, m2, p2, "bridge_device", net, &n, path, sizeof path);
	TRY(r);
	if (r)
		TRY(config_value_ifname(l, n, path, cfg->bridge_device));
	TRY(load_iface(l, m2, "upstream", net, &cfg->upstream, "upstream", &cfg->if_upstream,
		       cfg->node_id));
	TRY(load_iface(l, m2, "cluster", net, &cfg->cluster, "cluster", &cfg->if_cluster,
		       cfg->node_id));
	TRY(load_iface(l, m2, "storage", net, &cfg->storage, "storage", &cfg->if_storage,
		       cfg->node_id));
	return 0;
}

int config_configuration_load(struct ld *l, yaml_node_t *sys, const char *spath,
			      struct pvc_config *cfg)
{
	char p1[KEYPATH_MAX];
	yaml_node_t *m1;

	TRY(config_field_map(l, sys, spath, "configuration", 1, K_CONFIGURATION, &m1, p1,
			     sizeof p1));
	TRY(load_directories(l, m1, p1, cfg));
	TRY(load_logging(l, m1, p1, cfg));
	TRY(load_networking(l, m1, p1, cfg));
	return 0;
}
