/*
 * programs.c: find and open the worker programs once, at start.
 *
 * Each worker is its own program (pvc-zk-election links libzookeeper, pvc-vm-manager
 * libvirt, ...), so a worker maps only the libraries of its role. The supervisor opens
 * every program before the first spawn and later executes the open file (execveat
 * with AT_EMPTY_PATH): a restart after a package upgrade replaced the files still runs
 * the version this supervisor speaks to, and nobody can swap a program under a
 * running daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

#ifndef PVC_LIBEXECDIR
#define PVC_LIBEXECDIR "/usr/lib/pvc"
#endif

/* The directory of our own binary: a build tree keeps every program side by side. */
static int programs_own_dir(char *dir, size_t size)
{
	ssize_t r = readlink("/proc/self/exe", dir, size - 1);
	char *slash;

	if (r <= 0 || (size_t)r >= size - 1)
		return -1;
	dir[r] = '\0';
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	return 0;
}

/* A program run as root's child must not be replaceable by anybody but root. */
static int programs_check(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		log_err("worker program %s", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_errx("worker program %s is not a regular file", path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		log_errx("worker program %s is owned by uid %u, not root", path, (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_errx("worker program %s is writable by group or others (mode %04o)", path,
			 (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int programs_open(struct supervisor *sv)
{
	char own[PATH_MAX], path[PATH_MAX + 64];
	const char *dir = PVC_LIBEXECDIR;

	if (programs_own_dir(own, sizeof(own)) == 0) {
		snprintf(path, sizeof(path), "%s/%s", own, role_program(ROLE_ZK));
		if (access(path, F_OK) == 0)
			dir = own;
	}
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		int fd;

		if (!sv->kids[r].wanted)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, role_program((enum pvc_role)r));
		fd = open(path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			log_err("cannot open worker program %s", path);
			return -1;
		}
		if (programs_check(fd, path) != 0) {
			close(fd);
			return -1;
		}
		sv->kids[r].program_fd = fd;
	}
	log_info("worker programs in %s", dir);
	return 0;
}

void programs_close(struct supervisor *sv)
{
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		if (sv->kids[r].program_fd >= 0)
			close(sv->kids[r].program_fd);
		sv->kids[r].program_fd = -1;
	}
}
