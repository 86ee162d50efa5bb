/*
 * role.c: what each worker is sent of the configuration (MSG_CONFIG): everything but
 * what only another role needs. The IPMI password and the ZooKeeper connect string
 * go to zk-election only, the database passwords to net-router only.
 */
#include <string.h>

#include "config.h"
#include "pvc.h"

void config_for_role(const struct pvc_config *cfg, int role, struct pvc_config *out)
{
	if (out != cfg)
		memcpy(out, cfg, sizeof *out);
	if (role != ROLE_ZK) {
		explicit_bzero(out->ipmi_pass, sizeof out->ipmi_pass);
		explicit_bzero(out->zk_hosts, sizeof out->zk_hosts);
	}
	if (role != ROLE_NET) {
		explicit_bzero(out->dns_db.pass, sizeof out->dns_db.pass);
		explicit_bzero(out->metadata_db.pass, sizeof out->metadata_db.pass);
	}
}
