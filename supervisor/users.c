/*
 * users.c: one system user per worker role (pvc.system.supervisor.users), resolved once
 * at start. The kernel lets a process signal, ptrace-attach or read /proc/PID/environ of
 * another only with the same uid (or a capability no worker has), so distinct uids are
 * what keeps a compromised worker away from the others; the configuration refuses
 * shared names already, this also catches two names with one uid. The common group lets
 * every role traverse the daemon's directories (root:<group> 0750) and nothing more.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pvc.h"
#include "users.h"

#define USERS_KEY "pvc.system.supervisor."
#define USERS_NOBODY 65534
#define USERS_HOWTO \
	"create the users with `make install` or `systemd-sysusers` (units/pvcnoded.sysusers)"
#define USERS_GROUPS_MAX 256

/* The key that named role r's user, for error messages. */
static void sup_users_key(const struct pvc_config *cfg, int r, char *buf, size_t size)
{
	if (cfg->worker_user[0])
		snprintf(buf, size, USERS_KEY "user");
	else
		snprintf(buf, size, USERS_KEY "users.%s", role_name((enum pvc_role)r));
}

static int sup_users_one(const struct pvc_config *cfg, int r, struct sup_users *out, char *err,
			 size_t errlen)
{
	char key[96];
	struct passwd *pw;

	sup_users_key(cfg, r, key, sizeof key);
	errno = 0;
	pw = getpwnam(cfg->role_users[r]);
	if (pw == NULL) {
		snprintf(err, errlen, "%s: no user \"%s\"%s%s; %s", key, cfg->role_users[r],
			 errno ? ": " : "", errno ? strerror(errno) : "", USERS_HOWTO);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "%s: user \"%s\" is root or in group root: refusing", key,
			 cfg->role_users[r]);
		return -1;
	}
	if (pw->pw_uid == USERS_NOBODY && !cfg->allow_shared_user) {
		snprintf(err, errlen,
			 "%s: user \"%s\" has uid 65534 (nobody), which other services share; "
			 "%s (allow_shared_user: true allows it, tests only)",
			 key, cfg->role_users[r], USERS_HOWTO);
		return -1;
	}
	out->uid[r] = pw->pw_uid;
	out->gid[r] = pw->pw_gid;
	for (int s = ROLE_ZK; s < r && !cfg->allow_shared_user; s++) {
		if (out->uid[s] != pw->pw_uid)
			continue;
		snprintf(err, errlen,
			 "%s: user \"%s\" has uid %u, like the user \"%s\" of %s: every role "
			 "needs its own uid (allow_shared_user: true allows it, tests only)",
			 key, cfg->role_users[r], (unsigned)pw->pw_uid, cfg->role_users[s],
			 role_name((enum pvc_role)s));
		return -1;
	}
	return 0;
}

/* Role r's user must be in the common group (its primary group or a member). */
static int sup_users_member(const struct pvc_config *cfg, int r, const struct sup_users *u,
			    char *err, size_t errlen)
{
	gid_t groups[USERS_GROUPS_MAX];
	int n = USERS_GROUPS_MAX;

	if (u->gid[r] == u->group)
		return 0;
	if (getgrouplist(cfg->role_users[r], u->gid[r], groups, &n) < 0)
		n = USERS_GROUPS_MAX; /* truncated: search what we got */
	for (int i = 0; i < n; i++)
		if (groups[i] == u->group)
			return 0;
	snprintf(err, errlen,
		 USERS_KEY "group: user \"%s\" (%s) is not a member of group \"%s\" (gid %u), "
		 "which it needs to reach the daemon's directories; %s",
		 cfg->role_users[r], role_name((enum pvc_role)r),
		 cfg->worker_group[0] ? cfg->worker_group : "(primary group of .user)",
		 (unsigned)u->group, USERS_HOWTO);
	return -1;
}

static int sup_users_group(const struct pvc_config *cfg, struct sup_users *out, char *err,
			   size_t errlen)
{
	struct group *gr;

	if (!cfg->worker_group[0]) {
		/* compat .user: all roles share one user, its primary group serves */
		out->group = out->gid[ROLE_ZK];
		return 0;
	}
	errno = 0;
	gr = getgrnam(cfg->worker_group);
	if (gr == NULL) {
		snprintf(err, errlen, USERS_KEY "group: no group \"%s\"%s%s; %s", cfg->worker_group,
			 errno ? ": " : "", errno ? strerror(errno) : "", USERS_HOWTO);
		return -1;
	}
	if (gr->gr_gid == 0) {
		snprintf(err, errlen, USERS_KEY "group: \"%s\" is root's group: refusing",
			 cfg->worker_group);
		return -1;
	}
	out->group = gr->gr_gid;
	return 0;
}

int sup_users_resolve(const struct pvc_config *cfg, struct sup_users *out, char *err,
		      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	for (int r = ROLE_ZK; r <= WORKER_LAST; r++)
		if (config_role_wanted(cfg, r) && sup_users_one(cfg, r, out, err, errlen) != 0)
			return -1;
	if (sup_users_group(cfg, out, err, errlen) != 0)
		return -1;
	for (int r = ROLE_ZK; r <= WORKER_LAST; r++)
		if (config_role_wanted(cfg, r) && sup_users_member(cfg, r, out, err, errlen) != 0)
			return -1;
	if (cfg->allow_shared_user)
		log_warnx("pvc.system.supervisor.allow_shared_user is on: worker roles may share "
			  "a user (or run as nobody) and then can signal, ptrace and read the "
			  "environment of each other; for tests only, never in production");
	return 0;
}
