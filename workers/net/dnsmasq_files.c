/*
 * dnsmasq_files.c: dnsmasq's files: directories created before confinement,
 * leftover dnsmasq of a previous net-router (PID files), our PID files and the
 * reservation hosts directories (ref §7.5, fixed).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "net_dnsmasq.h"
#include "pvc.h"


static int mkdir_owned(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST) {
		log_err("cannot create %s", path);
		return -1;
	}
	if (chown(path, uid, gid) != 0 || chmod(path, mode) != 0) {
		log_err("cannot give %s to uid %u", path, (unsigned)uid);
		return -1;
	}
	return 0;
}

/* Is PID a dnsmasq serving `hostsdir`? The executable and the argument are both
 * checked, so a recycled PID is never killed. /proc/PID/exe needs ptrace access,
 * which a worker without CAP_SYS_PTRACE lacks for a process of another user or
 * Landlock domain (a dnsmasq of a previous net-router is both): then the name
 * the kernel gives it (/proc/PID/comm) and its argv[0] stand for it. */
static int is_our_dnsmasq(pid_t pid, const char *hostsdir)
{
	char path[64], exe[256], cmd[8192], want[320];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	cmd[r] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	r = readlink(path, exe, sizeof(exe) - 1);
	if (r > 0) {
		exe[r] = '\0';
		if (strcmp(exe, DNSM_EXE) != 0)
			return 0;
	} else {
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 0;
		r = read(fd, exe, sizeof(exe) - 1);
		close(fd);
		if (r <= 0 || strncmp(exe, "dnsmasq\n", 8) != 0 || strcmp(cmd, DNSM_EXE) != 0)
			return 0;
	}
	snprintf(want, sizeof(want), "--dhcp-hostsdir=%s", hostsdir);
	for (size_t off = 0; off < sizeof(cmd) && cmd[off]; off += strlen(cmd + off) + 1)
		if (strcmp(cmd + off, want) == 0)
			return 1;
	return 0;
}

/* SIGTERM, then SIGKILL after DNSM_STOP_MS if it is still ours. Not our child, but
 * its pidfd still becomes readable when it exits: no polling for the end. */
static void stop_pid(pid_t pid, const char *hosts)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pf = {.fd = pidfd, .events = POLLIN};

	if (pidfd < 0) {
		if (errno == ESRCH)
			return; /* gone meanwhile */
		log_warnx("pidfd_open of dnsmasq pid %d: %s", (int)pid, strerror(errno));
		if (kill(pid, SIGTERM) != 0)
			return;
		/* no pidfd: one bounded wait for it */
		(void)poll(NULL, 0, DNSM_STOP_MS);
	} else {
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
		while (poll(&pf, 1, DNSM_STOP_MS) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
	if (kill(pid, 0) == 0 && is_our_dnsmasq(pid, hosts))
		(void)kill(pid, SIGKILL);
}

static void stop_leftover(struct dnsm *m, const char *name)
{
	char path[600], hosts[340], buf[32];
	unsigned long vni;
	long pid;
	int fd;
	ssize_t r;

	if (sscanf(name, "dnsmasq-%lu.pid", &vni) != 1 || vni > NETDEF_VNI_MAX)
		return;
	snprintf(path, sizeof(path), "%s/%s", m->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[r > 0 ? r : 0] = '\0';
	snprintf(hosts, sizeof(hosts), "%s/%lu", m->dir, vni);
	if (r > 0 && sscanf(buf, "%ld", &pid) == 1 && pid > 1 && is_our_dnsmasq((pid_t)pid, hosts)) {
		log_info("stopping dnsmasq of network %lu (pid %ld) left by a previous net-router",
			 vni, pid);
		stop_pid((pid_t)pid, hosts);
	}
	(void)unlink(path);
}

int net_dnsmasq_files_init(struct dnsm *m, struct ev_loop *loop, const struct pvc_config *cfg,
			   const char *user)
{
	char exe[256];
	struct passwd *pw = user ? getpwnam(user) : NULL;
	uid_t uid = pw ? pw->pw_uid : getuid();
	gid_t gid = pw ? pw->pw_gid : getgid();
	ssize_t r;
	char *slash;
	DIR *dir;
	struct dirent *de;

	memset(m, 0, sizeof(*m));
	m->loop = loop;
	m->cfg = cfg;
	snprintf(m->dir, sizeof(m->dir), "%s/dnsmasq", cfg->dynamic_directory);
	snprintf(m->logdir, sizeof(m->logdir), "%s/dnsmasq", cfg->log_directory);
	snprintf(m->sock, sizeof(m->sock), "%s/lease.sock", m->dir);
	/* the helper ships next to the daemon's binary (build/ or /usr/lib/pvc) */
	r = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (r <= 0) {
		log_err("cannot resolve /proc/self/exe");
		return -1;
	}
	exe[r] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(m->helper, sizeof(m->helper), "%s/pvc-dhcp-lease", exe);
	if (access(m->helper, X_OK) != 0)
		log_warnx("DHCP lease helper %s: %s: dnsmasq will refuse to start", m->helper,
			  strerror(errno));
	if (mkdir_owned(m->dir, uid, gid, 0750) != 0 || mkdir_owned(m->logdir, uid, gid, 0750) != 0)
		return -1;
	dir = opendir(m->dir);
	if (!dir) {
		log_err("cannot list %s", m->dir);
		return -1;
	}
	while ((de = readdir(dir)) != NULL)
		stop_leftover(m, de->d_name);
	closedir(dir);
	return 0;
}

void net_dnsmasq_files_pidfile(struct dnsm *m, uint32_t vni, pid_t pid)
{
	char path[400], tmp[410], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/dnsmasq-%u.pid", m->dir, vni);
	if (pid == 0) {
		if (unlink(path) != 0 && errno != ENOENT)
			log_warnx("cannot remove %s: %s", path, strerror(errno));
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || rename(tmp, path) != 0)
		log_warnx("cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Rewrite the hosts directory of `p` (ref §7.5, fixed): one file per reservation,
 * written under a dot-name and renamed (dnsmasq's inotify ignores dot-files and
 * sees the rename), stale files removed. Returns 1 if something was removed:
 * dnsmasq only forgets those on SIGHUP. */
int net_dnsmasq_files_write_hosts(struct dnsm *m, const struct dnsm_proc *p)
{
	char dir[320], path[400], tmp[400], line[160], cur[160];
	int removed = 0;
	DIR *dh;
	struct dirent *de;

	snprintf(dir, sizeof(dir), "%s/%u", m->dir, p->vni);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		log_errx("network %u: cannot create %s: %s", p->vni, dir, strerror(errno));
		return 0;
	}
	for (size_t i = 0; i < p->def.nres; i++) {
		const struct netdef_res *r = &p->def.res[i];
		ssize_t got;
		size_t len;
		int fd;

		net_dnsmasq_args_host_line(r, line, sizeof(line));
		len = strlen(line);
		snprintf(path, sizeof(path), "%s/%s", dir, r->mac);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			got = read(fd, cur, sizeof(cur));
			close(fd);
			if (got == (ssize_t)len && memcmp(cur, line, len) == 0)
				continue;
		}
		snprintf(tmp, sizeof(tmp), "%s/.%s", dir, r->mac);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (fd < 0 || write(fd, line, len) != (ssize_t)len || rename(tmp, path) != 0)
			log_errx("network %u: cannot write reservation %s: %s", p->vni, path,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	dh = opendir(dir);
	if (!dh) {
		log_errx("network %u: cannot list %s: %s", p->vni, dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(dh)) != NULL) {
		int keep = de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.');
		for (size_t i = 0; i < p->def.nres && !keep; i++)
			keep = strcmp(de->d_name, p->def.res[i].mac) == 0;
		if (keep)
			continue;
		snprintf(path, sizeof(path), "%.300s/%.90s", dir, de->d_name);
		if (unlinkat(dirfd(dh), de->d_name, 0) != 0)
			log_warnx("network %u: cannot remove %s: %s", p->vni, path, strerror(errno));
		else
			removed = 1;
	}
	closedir(dh);
	return removed;
}
