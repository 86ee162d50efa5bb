/*
 * dirs.c: create the configured directories as a package's postinst would, so that a
 * fresh node (or a log_directory on a new disk) starts without manual steps. Only
 * missing directories are created; an existing one keeps its owner and mode (it may
 * be shared, e.g. /var/log/libvirt), and the worker-written ones below it are
 * re-owned by net-router itself when it starts.
 *
 * Owners and modes (0750 at most: nothing here is for other users):
 *   dynamic_directory, log_directory, console_log_directory and missing parents:
 *     root:<worker group> 0750. Root writes pvc.log and the control socket (0600);
 *     the workers only need to traverse them to reach their own subdirectories,
 *     and console logs are written by libvirt (root) and read by vm-manager.
 *   with networking, <log>/dnsmasq, <dynamic>/dnsmasq, <dynamic>/nft/networks:
 *     <worker user>:<worker group> 0750: net-router and its dnsmasq write there
 *     after dropping root (<dynamic>/nft itself: root:<worker group> 0750).
 * The mode is set with fchmod, not left to the umask (the unit's UMask=0077 would
 * leave 0700, closing the directories to the workers).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirs.h"

#define DIRS_KEY "pvc.system.configuration.directories."
#define DIRS_MODE 0750

struct dirs_ctx {
	uid_t wuid;
	gid_t wgid;
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

/* `path` and its missing parents (root:<worker group>); the last one owned by
 * `uid`. 0, or -1 with the error naming `key`. */
static int sup_dirs_make(struct dirs_ctx *c, const char *key, const char *path, uid_t uid)
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
		e = sup_dirs_one(tmp, 0, c->wgid);
		*p = '/';
		if (e != 0)
			goto fail;
	}
	e = sup_dirs_one(tmp, uid, c->wgid);
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

	snprintf(p, sizeof(p), "%s/dnsmasq", cfg->log_directory);
	if (sup_dirs_make(c, "log_directory", p, c->wuid) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/dnsmasq", cfg->dynamic_directory);
	if (sup_dirs_make(c, "dynamic_directory", p, c->wuid) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/nft/networks", cfg->dynamic_directory);
	return sup_dirs_make(c, "dynamic_directory", p, c->wuid);
}

int sup_dirs_prepare(const struct pvc_config *cfg, char *err, size_t errlen)
{
	struct dirs_ctx c = {0, 0, err, errlen};
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(cfg->worker_user);
	if (pw == NULL) {
		snprintf(err, errlen, "pvc.system.supervisor.user: no user \"%s\"%s%s",
			 cfg->worker_user, errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	c.wuid = pw->pw_uid;
	c.wgid = pw->pw_gid;
	if (sup_dirs_make(&c, "dynamic_directory", cfg->dynamic_directory, 0) != 0 ||
	    sup_dirs_make(&c, "log_directory", cfg->log_directory, 0) != 0 ||
	    sup_dirs_make(&c, "console_log_directory", cfg->console_log_directory, 0) != 0)
		return -1;
	if (cfg->enable_networking && sup_dirs_networking(&c, cfg) != 0)
		return -1;
	return 0;
}
