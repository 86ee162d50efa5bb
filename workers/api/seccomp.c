/*
 * seccomp.c: the api-units worker's system calls beyond the common set. The
 * filter is inherited across execve, so these are also those of systemctl (a
 * D-Bus client over a UNIX socket) and of patronictl (Python with threads, a
 * ZooKeeper client over TCP, an HTTP client to Patroni's REST API), and of /bin/sh
 * for a wrapper script. What stays out: ptrace, mount, namespaces, uid changes,
 * bpf, keys, modules, raw/packet/netlink sockets, signals to anything but the
 * command's own process group.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "api.h"
#include "sandbox.h"

static const struct sandbox_sys api_syscalls[] = {
	SANDBOX_SYS(execve),
	SANDBOX_SYS(vfork), /* dash's fork for a wrapper script's commands */
	SANDBOX_SYS(wait4),
	SANDBOX_SYS(waitid),
	SANDBOX_SYS(rt_sigsuspend), /* the `wait` builtin of a shell */
	SANDBOX_SYS(rt_sigtimedwait),
	SANDBOX_SYS(setpgid),
	SANDBOX_SYS(getpgid),
	SANDBOX_SYS(getpgrp),
	SANDBOX_SYS(getsid),
	SANDBOX_SYS(pipe),
	SANDBOX_SYS(pipe2),
	SANDBOX_SYS(dup),
	SANDBOX_SYS(dup2),
	SANDBOX_SYS(dup3),
	SANDBOX_SYS(close_range),
	SANDBOX_SYS(arch_prctl),
	SANDBOX_SYS(set_tid_address),
	SANDBOX_SYS(pread64),
	SANDBOX_SYS(access),
	SANDBOX_SYS(faccessat),
	SANDBOX_SYS(faccessat2),
	SANDBOX_SYS(stat),
	SANDBOX_SYS(lstat),
	SANDBOX_SYS(statfs),  /* systemctl: which file system /proc, cgroups are */
	SANDBOX_SYS(fstatfs),
	SANDBOX_SYS(readlink),
	SANDBOX_SYS(readlinkat),
	SANDBOX_SYS(getdents64),
	SANDBOX_SYS(getcwd),
	SANDBOX_SYS(chdir),
	SANDBOX_SYS(fchdir),
	SANDBOX_SYS(umask),
	SANDBOX_SYS(alarm),
	SANDBOX_SYS(setitimer),
	SANDBOX_SYS(select),
	SANDBOX_SYS(pselect6),
	SANDBOX_SYS(epoll_create),
	SANDBOX_SYS(eventfd2),
	SANDBOX_SYS(timerfd_create),
	SANDBOX_SYS(timerfd_settime),
	SANDBOX_SYS(timerfd_gettime),
	SANDBOX_SYS(connect),
	SANDBOX_SYS(bind),
	SANDBOX_SYS(getsockopt),
	SANDBOX_SYS(setsockopt),
	SANDBOX_SYS(getsockname),
	SANDBOX_SYS(getpeername),
	SANDBOX_SYS(shutdown),
	SANDBOX_SYS(sendmmsg), /* the resolver's parallel A/AAAA queries */
	SANDBOX_SYS(socketpair),
	SANDBOX_SYS(getresuid),
	SANDBOX_SYS(getresgid),
	SANDBOX_SYS(getgroups),
	SANDBOX_SYS(capget), /* systemctl looks at its own capabilities */
	SANDBOX_SYS(getrusage),
	SANDBOX_SYS(times),
	SANDBOX_SYS(fadvise64),
	SANDBOX_SYS(mincore),
	SANDBOX_SYS(tgkill), /* a Python thread signalled by its own process */
	SANDBOX_SYS_END,
};

/* Calls a program may try and should see fail, not die of: writes to files
 * (Landlock refuses them anyway; nothing is writable) and the newer interfaces
 * systemd's code probes before falling back. */
static const struct sandbox_sys api_refused[] = {
	SANDBOX_SYS(mkdir),
	SANDBOX_SYS(mkdirat),
	SANDBOX_SYS(unlink),
	SANDBOX_SYS(unlinkat),
	SANDBOX_SYS(rename),
	SANDBOX_SYS(renameat),
	SANDBOX_SYS(renameat2),
	SANDBOX_SYS(chmod),
	SANDBOX_SYS(fchmod),
	SANDBOX_SYS(fchmodat),
	SANDBOX_SYS_END,
};
static const struct sandbox_sys api_probed[] = {
	SANDBOX_SYS(openat2),
	SANDBOX_SYS(name_to_handle_at),
	SANDBOX_SYS(memfd_create),
	SANDBOX_SYS(pidfd_open),
	SANDBOX_SYS_END,
};

static int api_refuse(void *scmp_ctx, const struct sandbox_sys *t, int err)
{
	for (; t->name; t++)
		if (t->nr >= 0 &&
		    sandbox_add_rule(scmp_ctx, SCMP_ACT_ERRNO(err), t->nr, t->name, 0, NULL) != 0)
			return -1;
	return 0;
}

/* socket(): UNIX (systemctl's D-Bus), IPv4/IPv6 (patronictl); netlink answered
 * EACCES (getaddrinfo falls back); every other family kills. ioctl: terminal and
 * descriptor queries only. */
static int api_socket_rules(void *scmp_ctx)
{
	const struct scmp_arg_cmp unix_[] = {SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)};
	const struct scmp_arg_cmp inet[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET, 0)};
	const struct scmp_arg_cmp inet6[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0)};
	const struct scmp_arg_cmp netlink[] = {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0)};
	static const unsigned long ioctls[] = {FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, TIOCGWINSZ,
					       TIOCGPGRP};

	if (sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket", 1, unix_) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket", 1, inet) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket", 1, inet6) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), "socket", 1,
			     netlink))
		return -1;
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		const struct scmp_arg_cmp req[] = {SCMP_A1(SCMP_CMP_EQ, ioctls[i], 0)};
		if (sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), "ioctl", 1, req))
			return -1;
	}
	return 0;
}

/* fork() is clone(SIGCHLD), a thread clone(CLONE_THREAD|...) (sandbox_rules_threads):
 * never a new namespace. Opens with any flags: Landlock decides, and nothing is
 * writable (Python tries to write bytecode caches; refused, not fatal). */
static int api_arg_rules(void *scmp_ctx)
{
	const struct scmp_arg_cmp fork_only[] = {
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_VM | CLONE_NEWNS | CLONE_NEWUSER |
			CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP, 0)};
	const struct scmp_arg_cmp rl_self[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffULL, 0)};

	if (sandbox_rules_kill_group(scmp_ctx) != 0 ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), "clone", 1, fork_only) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), "prlimit64", 1,
			     rl_self) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), "openat", 0, NULL) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), "open", 0, NULL))
		return -1;
	return 0;
}

int api_seccomp_rules(void *scmp_ctx)
{
	if (api_arg_rules(scmp_ctx) != 0 || api_socket_rules(scmp_ctx) != 0 ||
	    sandbox_rules_threads(scmp_ctx) != 0 || sandbox_allow_list(scmp_ctx, api_syscalls) != 0)
		return -1;
	if (api_refuse(scmp_ctx, api_refused, EACCES) != 0)
		return -1;
	return api_refuse(scmp_ctx, api_probed, ENOSYS);
}
