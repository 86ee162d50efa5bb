/*
 * seccomp.c: the fence worker's system calls beyond the common set. They are also
 * those of ipmitool and of a wrapper script: the filter is inherited across execve.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "fence.h"
#include "sandbox.h"

/* process life of the fence worker and of what it runs */
static const struct sandbox_sys fence_syscalls[] = {
	SANDBOX_SYS(execve),
	SANDBOX_SYS(vfork), /* dash's fork for a wrapper script's commands */
	SANDBOX_SYS(wait4),
	SANDBOX_SYS(rt_sigsuspend), /* the `wait` builtin of a wrapper shell */
	SANDBOX_SYS(setpgid),
	SANDBOX_SYS(getpgid),
	SANDBOX_SYS(getpgrp),
	SANDBOX_SYS(pipe2),
	SANDBOX_SYS(dup2),
	SANDBOX_SYS(dup3),
	SANDBOX_SYS(dup),
	SANDBOX_SYS(arch_prctl),
	SANDBOX_SYS(set_tid_address),
	SANDBOX_SYS(set_robust_list),
	SANDBOX_SYS(rseq),
	SANDBOX_SYS(pread64),
	SANDBOX_SYS(access),
	SANDBOX_SYS(faccessat),
	SANDBOX_SYS(faccessat2),
	SANDBOX_SYS(stat),
	SANDBOX_SYS(lstat),
	SANDBOX_SYS(readlink),
	SANDBOX_SYS(getdents64),
	SANDBOX_SYS(getcwd),
	SANDBOX_SYS(chdir),
	SANDBOX_SYS(umask),
	SANDBOX_SYS(alarm),
	SANDBOX_SYS(setitimer),
	SANDBOX_SYS(select),
	SANDBOX_SYS(pselect6),
	SANDBOX_SYS(connect),
	SANDBOX_SYS(bind),
	SANDBOX_SYS(getsockname),
	SANDBOX_SYS(getsockopt),
	SANDBOX_SYS(setsockopt),
	SANDBOX_SYS(sendmmsg), /* the resolver's parallel A/AAAA queries */
	SANDBOX_SYS(getrusage),
	SANDBOX_SYS(times),
	SANDBOX_SYS_END,
};

/* socket(), ioctl(), prlimit64() and clone() only with the arguments ipmitool needs. */
static int fence_arg_rules(void *scmp_ctx)
{
	const struct scmp_arg_cmp dgram4[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET, 0),
					      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff, SOCK_DGRAM)};
	const struct scmp_arg_cmp dgram6[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0),
					      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff, SOCK_DGRAM)};
	/* name resolution of the BMC host: glibc's nscd probe (AF_UNIX) and
	 * getaddrinfo's interface query (AF_NETLINK) get an error and fall back */
	const struct scmp_arg_cmp unix_[] = {SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)};
	const struct scmp_arg_cmp netlink[] = {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0)};
	/* the resolver sizes a UDP answer with FIONREAD before reading it */
	const struct scmp_arg_cmp fionread[] = {SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0)};
	/* setrlimit/getrlimit of ipmitool and sh: our own limits only (pid 0 as the
	 * kernel reads it, an int); another process's limits are not ours to read or
	 * lower */
	const struct scmp_arg_cmp rl_self[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffULL, 0)};
	/* fork() is clone(SIGCHLD): never a new namespace or a thread sharing our memory */
	const struct scmp_arg_cmp fork_only[] = {
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_VM | CLONE_NEWNS | CLONE_NEWUSER |
			CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP, 0)};

	if (sandbox_rules_kill_group(scmp_ctx) != 0 ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket", 2, dgram4) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket", 2, dgram6) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), "socket", 1,
			     unix_) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), "socket", 1,
			     netlink) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), "ioctl", 1, fionread) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), "prlimit64", 1,
			     rl_self) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), "clone", 1, fork_only) ||
	    sandbox_add_rule(scmp_ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), "clone3", 0, NULL))
		return -1;
	return 0;
}

/* The filter is inherited across execve: these rules are also those of ipmitool
 * (and of a wrapper script's shell), measured with strace. What stays out: TCP and
 * every socket family but IPv4/IPv6 datagrams, writes to files (Landlock also
 * refuses them), ptrace, mount, namespaces, module and key syscalls. */
int fence_seccomp_rules(void *scmp_ctx)
{
	if (fence_arg_rules(scmp_ctx) != 0 || sandbox_allow_list(scmp_ctx, fence_syscalls) != 0)
		return -1;
	return sandbox_rules_files_ro(scmp_ctx);
}
