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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/sockios.h>

#include "log.h"
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

/* Signals to other processes: pidfd_send_signal only, and only SIGTERM, SIGKILL or
 * SIGHUP with no siginfo and no flags (stop and reload dnsmasq). A pidfd is a
 * capability only if we cannot mint one for any pid: pidfd_open is not allowed
 * after confinement (leftovers are stopped before it, dnsmasq_files.c), so every
 * pidfd we hold came from clone(CLONE_PIDFD) of our own child (dnsmasq.c) or
 * from the supervisor. kill() stays limited to ourselves (common rules): a pid is
 * not a capability. prlimit64 only on ourselves: pid 0 in the low 32 bits, the
 * int the kernel reads (0x1_0000_0000|pid is pid to it), so no other process of
 * the worker user gets its limits read or lowered. */
static int net_signal_rules(void *scmp_ctx)
{
	static const int sigs[] = {SIGTERM, SIGKILL, SIGHUP};
	const struct scmp_arg_cmp rl_self[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffULL, 0)};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		const struct scmp_arg_cmp sig[] = {SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)sigs[i], 0),
						   SCMP_A2(SCMP_CMP_EQ, 0, 0),
						   SCMP_A3(SCMP_CMP_EQ, 0, 0)};
		if (sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(pidfd_send_signal),
				     "pidfd_send_signal", 3, sig) != 0)
			return -1;
	}
	return sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), "prlimit64", 1,
				rl_self);
}

int net_seccomp_rules(void *scmp_ctx)
{
	/* fork, vfork-like posix_spawn, clone(CLONE_PIDFD): never a thread and never a
	 * new namespace */
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
			     NULL) != 0 ||
	    net_signal_rules(scmp_ctx) != 0)
		return -1;
	return sandbox_allow_list(scmp_ctx, net_syscalls);
}

/* ---- dnsmasq's own filter, stacked on the one it inherits ------------------------
 * dnsmasq answers DHCP and DNS from tenant VMs: a parser bug there must not reach
 * what only net-router needs. The kernel applies every stacked filter and keeps
 * the strictest answer, so this one allows by default and kills only what
 * dnsmasq (2.90, strace'd on DHCPv4/DHCPv6+RA networks) never does. Families are
 * compared on the low 32 bits, as the kernel reads them (an int): a high bit set
 * cannot slip a forbidden family past the rule. */
static int net_dnsmasq_deny(void *scmp_ctx)
{
	const scmp_datum_t lo32 = 0xffffffffULL;
	/* dnsmasq's DHCP works over UDP with ARP entries set by ioctl (SIOCSARP): no
	 * packet socket; GARP is net-router's own, on a socket opened before it */
	const struct scmp_arg_cmp packet[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, lo32, AF_PACKET)};
	/* rtnetlink only (interface and address events); no nftables, no audit, no
	 * uevents. The protocol test is on all 64 bits: anything but 0 is refused. */
	const struct scmp_arg_cmp nl_other[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, lo32, AF_NETLINK),
						SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE, 0)};
	const struct scmp_arg_cmp ethtool[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, lo32, SIOCETHTOOL)};

	if (sandbox_add_rule(scmp_ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(socket), "socket(AF_PACKET)",
			     1, packet) != 0 ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(socket),
			     "socket(AF_NETLINK, !NETLINK_ROUTE)", 2, nl_other) != 0 ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ioctl), "ioctl(SIOCETHTOOL)",
			     1, ethtool) != 0 ||
	    /* it signals nobody but itself and its script helper (kill, common rules) */
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(pidfd_send_signal),
			     "pidfd_send_signal", 0, NULL) != 0 ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(pidfd_open), "pidfd_open", 0,
			     NULL) != 0)
		return -1;
	return 0;
}

/* libseccomp 2.5 exports only to an fd: a non-blocking pipe (the program is a few
 * hundred bytes, far below the pipe's 64 KiB) read back into memory. */
static int net_dnsmasq_export(scmp_filter_ctx ctx, struct sock_fprog *out)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int p[2], rc;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return -errno;
	rc = seccomp_export_bpf(ctx, p[1]);
	close(p[1]);
	while (rc == 0) {
		if (len == cap) {
			unsigned char *nb = realloc(buf, cap + 4096);
			if (nb == NULL) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap += 4096;
		}
		n = read(p[0], buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 && errno != EAGAIN ? -errno : 0;
			break;
		}
		len += (size_t)n;
	}
	close(p[0]);
	if (rc == 0 && (len == 0 || len % sizeof(struct sock_filter) != 0 ||
			len / sizeof(struct sock_filter) > BPF_MAXINSNS))
		rc = -EINVAL;
	if (rc != 0) {
		free(buf);
		return rc;
	}
	out->filter = (struct sock_filter *)buf;
	out->len = (unsigned short)(len / sizeof(struct sock_filter));
	return 0;
}

int net_seccomp_dnsmasq_prog(struct sock_fprog *out)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (ctx == NULL) {
		log_errx("dnsmasq filter: seccomp_init failed");
		return -1;
	}
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc != 0 || net_dnsmasq_deny(ctx) != 0) {
		log_errx("dnsmasq filter: %s", rc ? strerror(-rc) : "rule refused");
		seccomp_release(ctx);
		return -1;
	}
	rc = net_dnsmasq_export(ctx, out);
	seccomp_release(ctx);
	if (rc != 0) {
		log_errx("dnsmasq filter: export: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
