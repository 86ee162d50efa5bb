/*
 * users.h: the system users of the worker roles and their common group, resolved by the
 * supervisor at start (users.c) before any directory is created or worker started.
 */
#ifndef SUP_USERS_H
#define SUP_USERS_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct sup_users {
	uid_t uid[CFG_ROLE_SLOTS]; /* indexed by enum pvc_role, ROLE_ZK..ROLE_FENCE */
	gid_t gid[CFG_ROLE_SLOTS]; /* each role user's primary group */
	gid_t group;               /* the common group (pvc.system.supervisor.group) */
};

/* Look every role user and the common group up. Refuses (-1, message in `err` naming
 * the key, the user and how to create it) a missing user or group, root, and unless
 * allow_shared_user: uid 65534 (nobody) or two roles with one uid; a role user that is
 * not a member of the common group. allow_shared_user is logged as a warning. */
int sup_users_resolve(const struct pvc_config *cfg, struct sup_users *out, char *err,
		      size_t errlen);

#endif
