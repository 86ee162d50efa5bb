/*
 * fence.c: the fence worker (issue #8). Being written: this first version only
 * starts, confines itself and reports every request as failed.
 */
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "pvc.h"
#include "worker.h"

static void fence_dispatch(struct worker *w, struct ipc_msg *msg)
{
	(void)w;
	log_warnx("fence: %s ignored (not implemented yet)", ipc_type_name(msg->hdr.type));
}

static int fence_seccomp_rules(void *ctx)
{
	(void)ctx;
	return 0;
}

static void fence_shutdown(struct worker *w, uint32_t phase)
{
	worker_shutdown_done(w, phase);
}

int fence_main(void)
{
	static struct worker w;
	struct sandbox_spec spec;

	worker_start(&w, ROLE_FENCE, fence_dispatch, fence_shutdown, NULL);
	memset(&spec, 0, sizeof(spec));
	spec.user = w.cfg.worker_user[0] ? w.cfg.worker_user : NULL;
	spec.seccomp_rules = fence_seccomp_rules;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	worker_ready(&w);
	return worker_run(&w);
}
