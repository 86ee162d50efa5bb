/*
 * services.c: zk-election tells the primary's services whether this node is primary
 * (MSG_SVC_PRIMARY). They never decide: a service is primary only while zk-election
 * wants the primary's resources and net-router has confirmed the floating addresses
 * (so a service that binds one finds it), and stops being primary the moment
 * zk-election decides to relinquish, together with net-router's instruction.
 */
#include <string.h>

#include "log.h"
#include "zk_internal.h"

static const enum pvc_role svc_roles[] = {ROLE_API, ROLE_DNS, ROLE_META, ROLE_CEPH};
#define SVC_NROLES (sizeof(svc_roles) / sizeof(svc_roles[0]))

/* 1 primary, 0 not, -1 not known yet: zk-election wants the primary's resources
 * but net-router has not answered (it restarted, or zk-election did): the services
 * keep what they were told until it answers, so that a worker restart does not
 * stop and start the API units. */
static int svc_state(const struct zk_ctx *z)
{
	if (z->net_want == 1 && z->net_have < 0)
		return -1;
	return z->net_want == 1 && z->net_have == 1;
}

static void svc_tell(struct zk_ctx *z, enum pvc_role role, int primary)
{
	struct ipc_svc_primary m = {.epoch = z->svc_epoch, .primary = primary};

	if (worker_send(z->w, MSG_SVC_PRIMARY, role, &m, sizeof(m)) != 0) {
		/* the channel to the supervisor is gone: the worker loop ends */
		log_warnx("cannot tell %s the primary state", role_name(role));
		return;
	}
	z->svc_told[role] = primary;
}

/* A service this node runs is told the state at the first decision even without
 * its hello: after a restart of zk-election the services are already running and
 * will not say hello again. One that is not up yet gets it with its hello (the
 * supervisor drops frames for a worker that is not running). */
#define SVC_TOLD_NOTHING 2

void zk_svc_init(struct zk_ctx *z)
{
	for (size_t i = 0; i < SVC_NROLES; i++) {
		enum pvc_role r = svc_roles[i];

		z->svc_told[r] = config_role_wanted(z->cfg, r) ? SVC_TOLD_NOTHING : -1;
	}
}

void zk_svc_sync(struct zk_ctx *z)
{
	int want = svc_state(z), changed = 0;

	if (want < 0)
		return;
	for (size_t i = 0; i < SVC_NROLES; i++) {
		enum pvc_role r = svc_roles[i];

		if (z->svc_told[r] < 0 || z->svc_told[r] == want)
			continue;
		if (!changed++)
			z->svc_epoch++;
		svc_tell(z, r, want);
	}
}

void zk_svc_hello(struct zk_ctx *z, enum pvc_role role)
{
	for (size_t i = 0; i < SVC_NROLES; i++) {
		if (svc_roles[i] != role)
			continue;
		int state = svc_state(z);

		log_debug("%s started: primary %d", role_name(role), state);
		if (state < 0)
			z->svc_told[role] = SVC_TOLD_NOTHING; /* told when net-router answers */
		else
			svc_tell(z, role, state);
		if (role == ROLE_DNS)
			zk_networks_hello(z); /* it keeps a zone per client network */
		return;
	}
	log_warnx("MSG_SVC_HELLO from %s, which is not a service", role_name(role));
}
