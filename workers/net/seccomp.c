/*
 * seccomp.c: net-router's seccomp allow-list (added to sandbox_rules_common).
 *
 * The filter is inherited across execve: these rules are also those of the
 * dnsmasq instances net-router runs and of the lease helper dnsmasq runs (through
 * /bin/sh for "init"). The list was measured with strace on dnsmasq 2.90 serving
 * DHCP and checked with PVC_SECCOMP_LOG=1 (test builds trap instead of kill; the
 * kernel logs each trap, see dmesg) during tests/integration/t70-networks.sh.
 * Paths are confined by Landlock (router.c), so openat is not restricted by
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

#include "net_seccomp.h"
#include "sandbox.h"

/* Allowed whatever their arguments. */
static const struct sandbox_sys net_syscalls[] = {
	/* files (Landlock decides which) */
	SANDBOX_SYS(openat),
	SANDBOX_SYS(open),
	SANDBOX_SYS(unlink),
	SANDBOX_SYS(unlinkat),
	SANDBOX_SYS(rename),
	SANDBOX_SYS(renameat),
	SANDBOX_SYS(renameat2),
	SANDBOX_SYS(mkdir),
	SANDBOX_SYS(mkdirat),
	SANDBOX_SYS(getdents64),
	SANDBOX_SYS(readlink),
	SANDBOX_SYS(readlinkat),
	SANDBOX_SYS(access),
	SANDBOX_SYS(faccessat),
	SANDBOX_SYS(faccessat2),
	SANDBOX_SYS(stat),
	SANDBOX_SYS(lstat),
	SANDBOX_SYS(pread64),
	SANDBOX_SYS(getcwd),
	SANDBOX_SYS(chdir),
	SANDBOX_SYS(umask),
	SANDBOX_SYS(statfs), /* the ASan runtime of a sanitizer build of the lease helper */
	SANDBOX_SYS(fstatfs),
	SANDBOX_SYS(inotify_init1),
	SANDBOX_SYS(inotify_add_watch),
	SANDBOX_SYS(inotify_rm_watch),
	/* processes: dnsmasq, its script helper, the lease helper */
	SANDBOX_SYS(execve),
	SANDBOX_SYS(vfork),
	SANDBOX_SYS(wait4),
	SANDBOX_SYS(waitid),
	SANDBOX_SYS(pidfd_open),
	SANDBOX_SYS(pidfd_send_signal),
	SANDBOX_SYS(close_range),
	SANDBOX_SYS(pipe),
	SANDBOX_SYS(pipe2),
	SANDBOX_SYS(dup),
	SANDBOX_SYS(dup2),
	SANDBOX_SYS(dup3),
	SANDBOX_SYS(arch_prctl),
	SANDBOX_SYS(set_tid_address),
	SANDBOX_SYS(set_robust_list),
	SANDBOX_SYS(rseq),
	SANDBOX_SYS(prlimit64),
	SANDBOX_SYS(capget),
	SANDBOX_SYS(getpgrp),
	SANDBOX_SYS(setsid),
	SANDBOX_SYS(rt_sigsuspend),
	SANDBOX_SYS(rt_sigtimedwait),
	SANDBOX_SYS(alarm),
	SANDBOX_SYS(setitimer),
	SANDBOX_SYS(getrusage),
	SANDBOX_SYS(times),
	SANDBOX_SYS(select),
	SANDBOX_SYS(pselect6),
	SANDBOX_SYS(getgroups),
	/* sockets: the lease socket, dnsmasq's DHCP/DNS/netlink sockets, libnftables */
	SANDBOX_SYS(bind),
	SANDBOX_SYS(listen),
	SANDBOX_SYS(accept),
	SANDBOX_SYS(accept4),
	SANDBOX_SYS(connect),
	SANDBOX_SYS(getsockopt),
	SANDBOX_SYS(setsockopt),
	SANDBOX_SYS(getsockname),
	SANDBOX_SYS(getpeername),
	SANDBOX_SYS(shutdown),
	SANDBOX_SYS(sendmmsg),
	SANDBOX_SYS(recvmmsg),
	SANDBOX_SYS_END,
};

/* interface queries (dnsmasq), ARP injection (dnsmasq answers clients that have no
 * address yet) and our own tx-checksum switch */
static const unsigned long net_ioctls[] = {
	SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFINDEX, SIOCGIFHWADDR, SIOCGIFADDR,
	SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFCONF, SIOCSARP, SIOCDARP, SIOCGARP,
	SIOCETHTOOL, FIONREAD, FIONBIO, SIOCGSTAMP_OLD, SIOCGSTAMPNS_OLD,
};
static const int net_families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET};

static int allow_arg(void *scmp_ctx, int nr, const char *name, unsigned arg, scmp_datum_t v)
{
	struct scmp_arg_cmp cmp = {.arg = arg, .op = SCMP_CMP_EQ, .datum_a = v};

	return sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, nr, name, 1, &cmp);
}

int net_seccomp_rules(void *scmp_ctx)
{
	/* fork, vfork-like posix_spawn: never a thread and never a new namespace */
	const struct scmp_arg_cmp fork_only[] = {
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_NEWNS | CLONE_NEWUSER |
			CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP, 0)};

	for (size_t i = 0; i < sizeof(net_ioctls) / sizeof(net_ioctls[0]); i++)
		if (allow_arg(scmp_ctx, SCMP_SYS(ioctl), "ioctl", 1, net_ioctls[i]) != 0)
			return -1;
	for (size_t i = 0; i < sizeof(net_families) / sizeof(net_families[0]); i++)
		if (allow_arg(scmp_ctx, SCMP_SYS(socket), "socket", 0,
			      (scmp_datum_t)net_families[i]) != 0)
			return -1;
	if (sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), "clone", 1, fork_only) != 0 ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), "clone3", 0,
			     NULL) != 0)
		return -1;
	return sandbox_allow_list(scmp_ctx, net_syscalls);
}
