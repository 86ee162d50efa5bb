/*
 * ceph.c: pvc.system.ceph (added by pvcnoded): where the ceph worker finds the
 * cluster. The reference runs the `ceph` CLI with its defaults; we read the same
 * files through librados: /etc/ceph/ceph.conf and the keyring it names (default
 * /etc/ceph/ceph.client.admin.keyring), as client.admin.
 */
#include <stdio.h>
#include <string.h>

#include "config_int.h"

#define DEF_CEPH_CONF "/etc/ceph/ceph.conf"
#define DEF_CEPH_CLIENT "admin"

static const char *const K_CEPH[] = {"conf", "keyring", "client", NULL};

int config_ceph_load(struct ld *l, yaml_node_t *sys, const char *spath, struct pvc_config *cfg)
{
	char p1[KEYPATH_MAX];
	yaml_node_t *m1 = NULL;
	int r;

	snprintf(cfg->ceph_conf, sizeof cfg->ceph_conf, "%s", DEF_CEPH_CONF);
	snprintf(cfg->ceph_client, sizeof cfg->ceph_client, "%s", DEF_CEPH_CLIENT);
	cfg->ceph_keyring[0] = '\0';
	r = config_field_map(l, sys, spath, "ceph", 0, K_CEPH, &m1, p1, sizeof p1);
	if (r <= 0)
		return r;
	TRY(config_field_str(l, m1, p1, "conf", 0, S_NONEMPTY, cfg->ceph_conf,
			     sizeof cfg->ceph_conf, NULL));
	TRY(config_field_str(l, m1, p1, "keyring", 0, 0, cfg->ceph_keyring,
			     sizeof cfg->ceph_keyring, NULL));
	TRY(config_field_str(l, m1, p1, "client", 0, S_NONEMPTY, cfg->ceph_client,
			     sizeof cfg->ceph_client, NULL));
	return 0;
}
