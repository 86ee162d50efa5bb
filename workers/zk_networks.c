/*
 * zk_networks.c: the /networks tree and DHCP lease events (issue #9).
 * Being written: this first version answers nothing.
 */
#include "log.h"
#include "zk_internal.h"

int zk_nets_init(struct zk_ctx *z)
{
	z->nets = NULL;
	return 0;
}

void zk_nets_lease_event(struct zk_ctx *z, struct ipc_msg *msg)
{
	(void)z;
	log_warnx("unexpected %s from net-router", ipc_type_name(msg->hdr.type));
}
