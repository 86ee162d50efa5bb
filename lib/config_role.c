/*
 * config_role.c: which worker roles run on this node. In lib/ because two parties
 * must agree on it: the supervisor starts exactly these, and zk-election tells
 * exactly these services the primary state (also after its own restart, when no
 * service has said hello to the new incarnation yet).
 */
#include "config.h"
#include "pvc.h"

int config_role_wanted(const struct pvc_config *cfg, int role)
{
	switch (role) {
	case ROLE_ZK:
	case ROLE_VM:
	case ROLE_NET:
	case ROLE_FLUSH:
	case ROLE_FENCE:
		return 1;
	/* the primary's services, as the reference: only where their function is on */
	case ROLE_API:
		return cfg->is_coordinator && cfg->enable_api;
	/* the metadata API: on coordinators with networking, as the reference (its
	 * address 169.254.169.254 is one of the primary's, added by net-router); it
	 * serves only while zk-election says primary */
	case ROLE_META:
		return cfg->is_coordinator && cfg->enable_networking;
	/* the reference's DNS aggregator: coordinators with networking */
	case ROLE_DNS:
		return cfg->is_coordinator && cfg->enable_networking;
	/* every storage node, as the reference's storage part of the keepalive */
	case ROLE_CEPH:
		return cfg->enable_storage;
	default:
		return 0;
	}
}
