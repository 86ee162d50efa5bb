/*
 * coordinator.c: pvc.coordinator: the dns and metadata databases (required when
 * networking is enabled). Each password goes to one worker only (config_for_role()
 * in role.c): the dns database's to dns-aggregator, the metadata database's to
 * metadata.
 */
#include "config_int.h"

static const char *const K_COORDINATOR[] = { "dns", "metadata", NULL };
static const char *const K_DBWRAP[] = { "database", NULL };
static const char *const K_DB[] = { "host", "port", "name", "user", "pass", NULL };

static int load_db(struct ld *l, yaml_node_t *coord, const char *which, int req,
		   struct cfg_db *db)
{
	char p1[KEYPATH_MAX], p2[KEYPATH_MAX];
	yaml_node_t *m1, *m2;

	TRY(config_field_map(l, coord, "pvc.coordinator", which, req, K_DBWRAP, &m1, p1,
			     sizeof p1));
	TRY(config_field_map(l, m1, p1, "database", req, K_DB, &m2, p2, sizeof p2));
	if (!m2)
		return 0;
	TRY(config_field_str(l, m2, p2, "host", 1, S_NONEMPTY, db->host, sizeof db->host, NULL));
	TRY(config_field_int(l, m2, p2, "port", 1, 1, 65535, &db->port, NULL));
	TRY(config_field_str(l, m2, p2, "name", 1, S_NONEMPTY, db->name, sizeof db->name, NULL));
	TRY(config_field_str(l, m2, p2, "user", 1, S_NONEMPTY, db->user, sizeof db->user, NULL));
	TRY(config_field_str(l, m2, p2, "pass", 1, 0, db->pass, sizeof db->pass, NULL));
	return 0;
}

int config_coordinator_load(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg)
{
	char path[KEYPATH_MAX];
	yaml_node_t *coord;
	int net = cfg->enable_networking;

	TRY(config_field_map(l, pvc, "pvc", "coordinator", net, K_COORDINATOR, &coord, path,
			     sizeof path));
	TRY(load_db(l, coord, "dns", net, &cfg->dns_db));
	TRY(load_db(l, coord, "metadata", net, &cfg->metadata_db));
	return 0;
}
