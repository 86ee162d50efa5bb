/*
 * dirs.c: create the configured directories as a package's postinst would, so that a
 * fresh node (or a log_directory on a new disk) starts without manual steps. Only
 * missing directories are created; an existing one keeps its owner and mode (it may
 * be shared, e.g. /var/log/libvirt), and the worker-written ones below it are
 * re-owned by net-router itself when it starts.
 *
 * Owners and modes (0750 at most: nothing here is for other users):
 *   dynamic_directory, log_directory, console_log_directory and missing parents:
 *     root:<common group> 0750 (pvc.system.supervisor.group, every role user is a
 *     member). Root writes pvc.log and the control socket (0600); the workers only
 *     need to traverse them to reach their own subdirectories, and console logs are
 *     written by libvirt (root) and read by vm-manager.
 *   with networking, <log>/dnsmasq, <dynamic>/dnsmasq, <dynamic>/nft/networks:
 *     <net-router user>:<its primary group> 0750: net-router and its dnsmasq write
 *     there after dropping root; no other role may read the leases and hosts files
 *     (<dynamic>/nft itself: root:<common group> 0750).
 *   with the dns-aggregator, <dynamic>/pdns: <dns-aggregator user>:<its group> 0750:
 *     pdns_server's configuration (it holds the database password) and control socket.
 * The mode is set with fchmod, not left to the umask (the unit's UMask=0077 would
 * leave 0700, closing the directories to the workers).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirs.h"
#include "pvc.h"
#include "users.h"

#define DIRS_KEY "pvc.system.configuration.directories."
#define DIRS_MODE 0750

struct dirs_ctx {
	struct sup_users u;
	char *err;
	size_t errlen;
};

/* mkdir one component; fix owner and mode only when we created it. 0, or errno. */
static int sup_dirs_one(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	int fd, e = 0;

	if (mkdir(path, DIRS_MODE) != 0) {
		if (errno != EEXIST)
			return errno;
		if (stat(path, &st) != 0)
			return errno;
		return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	}
	/* O_NOFOLLOW: the name we just created, not a link somebody swapped in */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fchown(fd, uid, gid) != 0 || fchmod(fd, DIRS_MODE) != 0)
		e = errno;
	close(fd);
	return e;
}

/* `path` and its missing parents (root:<common group>); the last one owned by
 * uid:gid. 0, or -1 with the error naming `key`. */
static int sup_dirs_make(struct dirs_ctx *c, const char *key, const char *path, uid_t uid,
			 gid_t gid)
{
	char tmp[CFG_PATH_MAX + 32];
	int e = 0;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		e = ENAMETOOLONG;
		goto fail;
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		e = sup_dirs_one(tmp, 0, c->u.group);
		*p = '/';
		if (e != 0)
			goto fail;
	}
	e = sup_dirs_one(tmp, uid, gid);
	if (e == 0)
		return 0;
fail:
	snprintf(c->err, c->errlen, "%s%s: cannot create %s: %s", DIRS_KEY, key, path,
		 strerror(e));
	return -1;
}

static int sup_dirs_networking(struct dirs_ctx *c, const struct pvc_config *cfg)
{
	char p[CFG_PATH_MAX + 32];
	uid_t nu = c->u.uid[ROLE_NET];
	gid_t ng = c->u.gid[ROLE_NET];

	snprintf(p, sizeof(p), "%s/dnsmasq", cfg->log_directory);
	if (sup_dirs_make(c, "log_directory", p, nu, ng) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/dnsmasq", cfg->dynamic_directory);
	if (sup_dirs_make(c, "dynamic_directory", p, nu, ng) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/nft/networks", cfg->dynamic_directory);
	return sup_dirs_make(c, "dynamic_directory", p, nu, ng);
}

int sup_dirs_prepare(const struct pvc_config *cfg, char *err, size_t errlen)
{
	struct dirs_ctx c = {.err = err, .errlen = errlen};
	gid_t g;

	if (sup_users_resolve(cfg, &c.u, err, errlen) != 0)
		return -1;
	g = c.u.group;
	if (sup_dirs_make(&c, "dynamic_directory", cfg->dynamic_directory, 0, g) != 0 ||
	    sup_dirs_make(&c, "log_directory", cfg->log_directory, 0, g) != 0 ||
	    sup_dirs_make(&c, "console_log_directory", cfg->console_log_directory, 0, g) != 0)
		return -1;
	if (cfg->enable_networking && sup_dirs_networking(&c, cfg) != 0)
		return -1;
	if (config_role_wanted(cfg, ROLE_DNS)) {
		char p[CFG_PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/pdns", cfg->dynamic_directory);
		if (sup_dirs_make(&c, "dynamic_directory", p, c.u.uid[ROLE_DNS],
				  c.u.gid[ROLE_DNS]) != 0)
			return -1;
	}
	return 0;
}
