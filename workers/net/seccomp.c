/*
 * net_seccomp.c: net-router's seccomp allow-list (added to sandbox_rules_common).
 *
 * The filter is inherited across execve: these rules are also those of the
 * dnsmasq instances net-router runs and of the lease helper dnsmasq runs (through
 * /bin/sh for "init"). The list was measured with strace on dnsmasq 2.90 serving
 * DHCP and checked with PVC_SECCOMP_LOG=1 (test builds trap instead of kill; the
 * kernel logs each trap, see dmesg) during tests/integration/t70-networks.sh.
 * Paths are confined by Landlock (net_router.c), so openat is not restricted by
 * flags here any more. What stays out: ptrace, mount, namespaces (clone with
 * CLONE_NEW*, unshare, setns), module, key, bpf and perf syscalls, uid changes,
 * and every ioctl but the interface queries below (SIOCGSTAMP: dnsmasq
 * timestamps each DHCP packet).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>

#include "log.h"

int net_router_seccomp_rules(void *scmp_ctx);

#define ALLOW(name)                                                                       \
	do {                                                                              \
		int rc_ = seccomp_rule_add(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 0);  \
		if (rc_ != 0) {                                                           \
			log_errx("net-router: seccomp rule %s: %s", #name, strerror(-rc_)); \
			return -1;                                                        \
		}                                                                         \
	} while (0)

static int allow_arg(void *scmp_ctx, int nr, const char *name, unsigned arg, scmp_datum_t v)
{
	struct scmp_arg_cmp cmp = {.arg = arg, .op = SCMP_CMP_EQ, .datum_a = v};
	int rc = seccomp_rule_add_array(scmp_ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);

	if (rc != 0) {
		log_errx("net-router: seccomp rule %s: %s", name, strerror(-rc));
		return -1;
	}
	return 0;
}

int net_router_seccomp_rules(void *scmp_ctx)
{
	/* interface queries (dnsmasq), ARP injection (dnsmasq answers clients that
	 * have no address yet) and our own tx-checksum switch */
	static const unsigned long ioctls[] = {
		SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFINDEX, SIOCGIFHWADDR, SIOCGIFADDR,
		SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFCONF, SIOCSARP, SIOCDARP, SIOCGARP,
		SIOCETHTOOL, FIONREAD, FIONBIO, SIOCGSTAMP_OLD, SIOCGSTAMPNS_OLD,
	};
	static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET};
	/* fork, vfork-like posix_spawn: never a thread and never a new namespace */
	const struct scmp_arg_cmp fork_only[] = {
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_NEWNS | CLONE_NEWUSER |
			CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP, 0)};
	int rc;

	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
		if (allow_arg(scmp_ctx, SCMP_SYS(ioctl), "ioctl", 1, ioctls[i]) != 0)
			return -1;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (allow_arg(scmp_ctx, SCMP_SYS(socket), "socket", 0,
			      (scmp_datum_t)families[i]) != 0)
			return -1;
	rc = seccomp_rule_add_array(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, fork_only);
	if (rc == 0)
		rc = seccomp_rule_add(scmp_ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc != 0) {
		log_errx("net-router: seccomp rule clone: %s", strerror(-rc));
		return -1;
	}
	/* files (Landlock decides which) */
	ALLOW(openat);
	ALLOW(open);
	ALLOW(unlink);
	ALLOW(unlinkat);
	ALLOW(rename);
	ALLOW(renameat);
	ALLOW(renameat2);
	ALLOW(mkdir);
	ALLOW(mkdirat);
	ALLOW(getdents64);
	ALLOW(readlink);
	ALLOW(readlinkat);
	ALLOW(access);
	ALLOW(faccessat);
	ALLOW(faccessat2);
	ALLOW(stat);
	ALLOW(lstat);
	ALLOW(pread64);
	ALLOW(getcwd);
	ALLOW(chdir);
	ALLOW(umask);
	ALLOW(statfs); /* the ASan runtime of a sanitizer build of the lease helper */
	ALLOW(fstatfs);
	ALLOW(inotify_init1);
	ALLOW(inotify_add_watch);
	ALLOW(inotify_rm_watch);
	/* processes: dnsmasq, its script helper, the lease helper */
	ALLOW(execve);
	ALLOW(vfork);
	ALLOW(wait4);
	ALLOW(waitid);
	ALLOW(pidfd_open);
	ALLOW(pidfd_send_signal);
	ALLOW(close_range);
	ALLOW(pipe);
	ALLOW(pipe2);
	ALLOW(dup);
	ALLOW(dup2);
	ALLOW(dup3);
	ALLOW(arch_prctl);
	ALLOW(set_tid_address);
	ALLOW(set_robust_list);
	ALLOW(rseq);
	ALLOW(prlimit64);
	ALLOW(capget);
	ALLOW(getpgrp);
	ALLOW(setsid);
	ALLOW(rt_sigsuspend);
	ALLOW(rt_sigtimedwait);
	ALLOW(alarm);
	ALLOW(setitimer);
	ALLOW(getrusage);
	ALLOW(times);
	ALLOW(select);
	ALLOW(pselect6);
	ALLOW(getgroups);
	/* sockets: the lease socket, dnsmasq's DHCP/DNS/netlink sockets, libnftables */
	ALLOW(bind);
	ALLOW(listen);
	ALLOW(accept);
	ALLOW(accept4);
	ALLOW(connect);
	ALLOW(getsockopt);
	ALLOW(setsockopt);
	ALLOW(getsockname);
	ALLOW(getpeername);
	ALLOW(shutdown);
	ALLOW(sendmmsg);
	ALLOW(recvmmsg);
	return 0;
}
