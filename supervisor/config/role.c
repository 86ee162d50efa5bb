/*
 * role.c: what each worker is sent of the configuration (MSG_CONFIG): everything but
 * what only another role needs. The IPMI password, the ZooKeeper connect string and
 * its digest secret go to zk-election only, each database password to the one role that
 * connects with it (dns-aggregator, metadata). A worker finds its own system user in
 * worker_user (the roles switch to that name).
 */
#include <string.h>

#include "config.h"
#include "pvc.h"

void config_for_role(const struct pvc_config *cfg, int role, struct pvc_config *out)
{
	if (out != cfg)
		memcpy(out, cfg, sizeof *out);
	if (role >= WORKER_FIRST && role <= WORKER_LAST && role < CFG_ROLE_SLOTS)
		memcpy(out->worker_user, cfg->role_users[role], sizeof out->worker_user);
	if (role != ROLE_ZK) {
		explicit_bzero(out->ipmi_pass, sizeof out->ipmi_pass);
		explicit_bzero(out->zk_hosts, sizeof out->zk_hosts);
		explicit_bzero(out->zk_auth_secret, sizeof out->zk_auth_secret);
	}
	if (role != ROLE_DNS)
		explicit_bzero(out->dns_db.pass, sizeof out->dns_db.pass);
	if (role != ROLE_META)
		explicit_bzero(out->metadata_db.pass, sizeof out->metadata_db.pass);
}
