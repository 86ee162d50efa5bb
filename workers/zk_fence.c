/*
 * zk_fence.c: dead-node detection, fencing and recovery (issue #8).
 * Being written: this first version only refuses fence results it did not ask for.
 */
#include "log.h"
#include "zk_internal.h"

int zk_fence_init(struct zk_ctx *z)
{
	z->fence = NULL;
	return 0;
}

void zk_fence_dispatch(struct zk_ctx *z, struct ipc_msg *msg)
{
	(void)z;
	log_warnx("unexpected %s from fence", ipc_type_name(msg->hdr.type));
}
