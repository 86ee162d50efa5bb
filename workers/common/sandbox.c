/*
 * sandbox.c: confinement of a worker process (issue #7).
 *
 * A worker is re-executed by the supervisor as root, opens the few privileged
 * things it needs (netlink sockets, ...) and then calls sandbox_enter(), which
 * never gives anything back: fds, rlimits, user and groups, capabilities and
 * bounding set, no_new_privs, Landlock, seccomp. Every step either succeeds or
 * the worker refuses to run (the caller exits PVC_WORKER_EXIT_PERMANENT): a
 * half-confined worker would be worse than a missing one.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "sanitizer.h"
#include "worker.h"

/* Rights newer than Debian 12's kernel headers; values are kernel ABI. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* LeakSanitizer checks at exit from a helper it clone()s and ptrace()s: both
 * forbidden once confined, so a sanitizer build's worker would die of SIGSYS
 * when it exits. Run the check once before confinement instead (it then
 * skips the one at exit): leaks made while confined go unreported there; the
 * unit tests and fuzzers cover the shared code without confinement. */
#ifdef PVC_LSAN
void __lsan_do_leak_check(void);
#endif

void sandbox_close_inherited(void)
{
	long max;

	/* close_range() exists since Linux 5.9; the loop covers older kernels. */
	if (syscall(SYS_close_range, PVC_WORKER_FD + 1, ~0U, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1048576)
		max = 1048576;
	for (long fd = PVC_WORKER_FD + 1; fd < max; fd++)
		(void)close((int)fd);
}

int sandbox_limit_nproc(void)
{
	const struct rlimit none = {0, 0};

	if (setrlimit(RLIMIT_NPROC, &none) != 0) {
		log_err("sandbox: setrlimit(RLIMIT_NPROC, 0)");
		return -1;
	}
	return 0;
}

static int sb_rlimits(void)
{
	const struct rlimit none = {0, 0};

	/* A core file would hold the config (IPMI password) and ZooKeeper credentials. */
	if (setrlimit(RLIMIT_CORE, &none) != 0) {
		log_err("sandbox: setrlimit(RLIMIT_CORE, 0)");
		return -1;
	}
	return 0;
}

/* Highest capability number the kernel knows (the bounding set ends there). */
static int sb_cap_last(void)
{
	int c = 0;

	while (c < 63 && prctl(PR_CAPBSET_READ, (unsigned long)c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

/* Everything not kept leaves the bounding set, so that not even an exec of a
 * setuid/file-capability binary could bring it back. Needs CAP_SETPCAP: runs
 * while still root. */
static int sb_drop_bounding(uint64_t keep, int last)
{
	for (int c = 0; c <= last; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 0)
			continue; /* already absent (e.g. CAP_SYS_RESOURCE on this host) */
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) != 0) {
			log_err("sandbox: PR_CAPBSET_DROP(%d)", c);
			return -1;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		log_err("sandbox: clearing ambient capabilities");
		return -1;
	}
	return 0;
}

static int sb_set_caps(uint64_t keep, uint64_t ambient, int last)
{
	cap_value_t list[64], amb[64];
	int n = 0, na = 0, rc = -1;
	cap_t caps = cap_init(); /* every set empty, inheritable included */

	if (caps == NULL) {
		log_err("sandbox: cap_init");
		return -1;
	}
	if (ambient & ~keep) {
		log_errx("sandbox: ambient capabilities 0x%llx are not all kept (0x%llx)",
			 (unsigned long long)ambient, (unsigned long long)keep);
		goto out;
	}
	for (int c = 0; c <= last; c++) {
		if (keep & (1ULL << c))
			list[n++] = c;
		if (ambient & (1ULL << c))
			amb[na++] = c;
	}
	if (n > 0 && (cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET) != 0 ||
		      cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET) != 0)) {
		log_err("sandbox: cap_set_flag");
		goto out;
	}
	/* An ambient capability must also be inheritable; only those, so that a
	 * helper the worker executes (dnsmasq) gets exactly them and nothing more. */
	if (na > 0 && cap_set_flag(caps, CAP_INHERITABLE, na, amb, CAP_SET) != 0) {
		log_err("sandbox: cap_set_flag(inheritable)");
		goto out;
	}
	if (cap_set_proc(caps) != 0) {
		log_err("sandbox: cap_set_proc(keep 0x%llx)", (unsigned long long)keep);
		goto out;
	}
	for (int i = 0; i < na; i++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)amb[i], 0, 0) != 0) {
			log_err("sandbox: PR_CAP_AMBIENT_RAISE(%d)", (int)amb[i]);
			goto out;
		}
	}
	rc = 0;
out:
	cap_free(caps);
	return rc;
}

#define SB_GROUPS_MAX 64

/* Supplementary groups: the ones the group database gives `user` (the common group of
 * pvcnoded.sysusers, which opens the daemon's directories) and the named extra group
 * (e.g. libvirt for its socket); never root's, never root's group. */
static int sb_set_groups(const char *user, gid_t primary, const struct group *extra)
{
	gid_t db[SB_GROUPS_MAX], set[SB_GROUPS_MAX + 1];
	int n = SB_GROUPS_MAX, k = 0;
	gid_t xg = extra ? extra->gr_gid : primary; /* before getgrouplist() reuses buffers */

	if (getgrouplist(user, primary, db, &n) < 0) {
		log_errx("sandbox: user %s is in more than %d groups: refusing", user,
			 SB_GROUPS_MAX);
		return -1;
	}
	if (xg != primary)
		set[k++] = xg;
	for (int i = 0; i < n; i++) {
		int seen = db[i] == primary;

		for (int j = 0; j < k; j++)
			seen |= set[j] == db[i];
		if (!seen)
			set[k++] = db[i];
	}
	for (int i = 0; i < k; i++) {
		if (set[i] == 0) {
			log_errx("sandbox: user %s is in group root: refusing", user);
			return -1;
		}
	}
	if (setgroups((size_t)k, k ? set : NULL) != 0) {
		log_err("sandbox: setgroups (%d groups)", k);
		return -1;
	}
	return 0;
}

static int sb_switch_user(const struct sandbox_spec *spec, int last)
{
	struct passwd *pw;
	struct group *gr = NULL;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (spec->keep_caps >> (last + 1)) {
		log_errx("sandbox: capability mask 0x%llx names capabilities this kernel lacks",
			 (unsigned long long)spec->keep_caps);
		return -1;
	}
	if (spec->user == NULL) {
		/* Tests of the sandbox itself: stay root but still lose the capabilities. */
		if (sb_drop_bounding(spec->keep_caps, last) != 0)
			return -1;
		return sb_set_caps(spec->keep_caps, spec->ambient_caps, last);
	}
	errno = 0;
	pw = getpwnam(spec->user);
	if (pw == NULL) {
		log_errx("sandbox: no user %s%s%s", spec->user, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		log_errx("sandbox: user %s is root or in group root: refusing", spec->user);
		return -1;
	}
	if (spec->extra_group) {
		gr = getgrnam(spec->extra_group);
		if (gr == NULL)
			log_warnx("sandbox: no group %s, continuing without it", spec->extra_group);
	}
	if (sb_drop_bounding(spec->keep_caps, last) != 0)
		return -1;
	if (sb_set_groups(pw->pw_name, pw->pw_gid, gr) != 0)
		return -1;
	/* Permitted capabilities survive the uid change only with KEEPCAPS. */
	if (spec->keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
		log_err("sandbox: PR_SET_KEEPCAPS");
		return -1;
	}
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0) {
		log_err("sandbox: setresgid(%u)", (unsigned)pw->pw_gid);
		return -1;
	}
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_err("sandbox: setresuid(%u)", (unsigned)pw->pw_uid);
		return -1;
	}
	if (spec->keep_caps && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
		log_err("sandbox: clearing PR_SET_KEEPCAPS");
		return -1;
	}
	if (sb_set_caps(spec->keep_caps, spec->ambient_caps, last) != 0)
		return -1;
	/* Trust nothing: check that there is no way back. */
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru == 0 ||
	    eu == 0 || su == 0 || rg == 0 || eg == 0 || sg == 0 || ru != pw->pw_uid) {
		log_errx("sandbox: still root after switching to %s", spec->user);
		return -1;
	}
	if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0) {
		log_errx("sandbox: could regain root after switching to %s", spec->user);
		return -1;
	}
	return 0;
}

/* ---- Landlock ------------------------------------------------------------------- */

#define LL_FILE_RIGHTS                                                                  \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                   \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                   \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define LL_RO (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_RX (LL_RO | LANDLOCK_ACCESS_FS_EXECUTE)
/* Read-write: create/remove/rename regular files, dirs, sockets, fifos and links,
 * never devices, never execute. */
#define LL_RW                                                                           \
	(LL_RO | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |          \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |               \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                    \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |                  \
	 LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER)

static uint64_t ll_handled(int abi)
{
	uint64_t h = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

static int ll_allow(int ruleset, const char *path, uint64_t access, uint64_t handled)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0) {
		/* Best effort: a path that does not exist cannot be reached either. */
		log_debug("sandbox: landlock: %s: %s (skipped)", path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) != 0) {
		log_err("sandbox: landlock: fstat %s", path);
		close(fd);
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = access & handled;
	if (!S_ISDIR(st.st_mode))
		pb.allowed_access &= LL_FILE_RIGHTS;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0) {
		log_err("sandbox: landlock: rule for %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Build the ruleset while still root: O_PATH opens of the allowed paths must work
 * even when a parent directory is closed to the worker user (the rule then grants
 * access beneath it). Returns the ruleset fd, -2 when the kernel has no Landlock,
 * -1 on error. */
static int sb_landlock_prepare(const struct sandbox_spec *spec)
{
	struct landlock_ruleset_attr attr;
	int abi, ruleset;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_debug("sandbox: Landlock unavailable (%s): skipped", strerror(errno));
		return -2;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = ll_handled(abi);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0) {
		log_err("sandbox: landlock_create_ruleset (ABI %d)", abi);
		return -1;
	}
	for (const char *const *p = spec->ro_paths; p && *p; p++)
		if (ll_allow(ruleset, *p, LL_RO, attr.handled_access_fs) != 0)
			goto fail;
	for (const char *const *p = spec->rw_paths; p && *p; p++)
		if (ll_allow(ruleset, *p, LL_RW, attr.handled_access_fs) != 0)
			goto fail;
	for (const char *const *p = spec->rx_paths; p && *p; p++)
		if (ll_allow(ruleset, *p, LL_RX, attr.handled_access_fs) != 0)
			goto fail;
	log_debug("sandbox: Landlock ABI %d ruleset prepared", abi);
	return ruleset;
fail:
	close(ruleset);
	return -1;
}

/* Needs no_new_privs (set before). Files not listed cannot be opened, created,
 * removed or executed any more; open fds and sockets are unaffected. */
static int sb_landlock_apply(int ruleset)
{
	int rc = 0;

	if (ruleset == -2)
		return 0;
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
		log_err("sandbox: landlock_restrict_self");
		rc = -1;
	}
	close(ruleset);
	return rc;
}

int sandbox_enter(const struct sandbox_spec *spec)
{
	int last, ruleset;

	if (spec == NULL || spec->seccomp_rules == NULL) {
		log_errx("sandbox: no specification or no seccomp rules");
		return -1;
	}
	/* libc state that would otherwise be loaded lazily from files after open()
	 * is no longer possible: the time zone for dated log lines. */
	tzset();
#ifdef PVC_LSAN
	/* while still root and dumpable: it reads /proc/self/task */
	__lsan_do_leak_check();
#endif
	if (sb_rlimits() != 0)
		return -1;
	last = sb_cap_last();
	ruleset = sb_landlock_prepare(spec);
	if (ruleset == -1)
		return -1;
	if (sb_switch_user(spec, last) != 0) {
		if (ruleset >= 0)
			close(ruleset);
		return -1;
	}
	/* Non-dumpable: no ptrace even by another process of the same user (each role
	 * has its own, but a helper it executes shares it) and no core; also makes the
	 * files under /proc/PID root-owned. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_err("sandbox: PR_SET_DUMPABLE");
		if (ruleset >= 0)
			close(ruleset);
		return -1;
	}
	/* execve can never grant privileges again (and unprivileged seccomp needs it). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_err("sandbox: PR_SET_NO_NEW_PRIVS");
		if (ruleset >= 0)
			close(ruleset);
		return -1;
	}
	if (sb_landlock_apply(ruleset) != 0)
		return -1;
	if (sandbox_seccomp_load(spec->seccomp_rules) != 0)
		return -1;
	log_debug("sandbox: confined (user %s, capabilities 0x%llx, seccomp on)",
		  spec->user ? spec->user : "unchanged", (unsigned long long)spec->keep_caps);
	return 0;
}
