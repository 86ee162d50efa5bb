/*
 * seccomp.c: the dns-aggregator's system calls beyond the common set. The filter is
 * inherited by pdns_server, so the list is also PowerDNS 4.7's with the gpgsql
 * backend (measured with strace -f while it answered queries from PostgreSQL):
 * threads, IPv4/IPv6 sockets it listens on or connects with (libpq), a UNIX stream
 * socket (its control socket in <dynamic>/pdns), files (Landlock decides which).
 * The worker itself adds fork/execve of pdns_server, waiting for it and
 * SIGTERM/SIGKILL. What stays out: ptrace, mount, namespaces, uid/gid changes,
 * module, bpf, perf, keys (keyctl answers ENOSYS: libpq's Kerberos probe), netlink
 * and packet sockets.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/socket.h>

#include "dns_int.h"
#include "sandbox.h"

static const struct sandbox_sys dns_syscalls[] = {
	/* files: Landlock limits them to the rw/ro/rx paths of dns.c */
	SANDBOX_SYS(openat),
	SANDBOX_SYS(unlink),
	SANDBOX_SYS(rename),
	SANDBOX_SYS(mkdir),
	SANDBOX_SYS(access),
	SANDBOX_SYS(faccessat),
	SANDBOX_SYS(faccessat2),
	SANDBOX_SYS(stat),
	SANDBOX_SYS(lstat),
	SANDBOX_SYS(readlink),
	SANDBOX_SYS(readlinkat), /* OpenSSL (libpq to a PostgreSQL with ssl = on) */
	SANDBOX_SYS(getdents64),
	SANDBOX_SYS(pread64),
	SANDBOX_SYS(statfs),
	SANDBOX_SYS(fstatfs),
	SANDBOX_SYS(getcwd),
	SANDBOX_SYS(chdir),
	SANDBOX_SYS(umask),
	/* pdns_server as a child */
	SANDBOX_SYS(execve),
	SANDBOX_SYS(wait4),
	SANDBOX_SYS(pipe2),
	SANDBOX_SYS(dup2),
	SANDBOX_SYS(dup3),
	SANDBOX_SYS(dup),
	SANDBOX_SYS(close_range), /* the child closes the worker's descriptors */
	SANDBOX_SYS(arch_prctl),
	SANDBOX_SYS(set_tid_address),
	/* sockets: pdns listens, libpq and the AXFR client connect */
	SANDBOX_SYS(bind),
	SANDBOX_SYS(listen),
	SANDBOX_SYS(accept),
	SANDBOX_SYS(accept4),
	SANDBOX_SYS(connect),
	SANDBOX_SYS(getsockname),
	SANDBOX_SYS(getpeername),
	SANDBOX_SYS(getsockopt),
	SANDBOX_SYS(setsockopt),
	SANDBOX_SYS(shutdown),
	SANDBOX_SYS(sendmmsg),
	SANDBOX_SYS(recvmmsg),
	SANDBOX_SYS(select),
	SANDBOX_SYS(pselect6),
	SANDBOX_SYS(getpriority),
	SANDBOX_SYS(getrusage),
	SANDBOX_SYS(times),
	SANDBOX_SYS_END,
};

static int dns_socket_rules(void *ctx)
{
	const int ok[] = {AF_INET, AF_INET6, AF_UNIX};

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		const struct scmp_arg_cmp a[] = {SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)ok[i], 0)};
		if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket", 1, a) != 0)
			return -1;
	}
	/* getaddrinfo's interface probe gets an error and assumes both families */
	const struct scmp_arg_cmp nl[] = {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0)};
	return sandbox_add_rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), "socket", 1, nl);
}

static int dns_process_rules(void *ctx)
{
	/* fork() is clone(SIGCHLD): never a namespace; threads come from
	 * sandbox_rules_threads (CLONE_THREAD set) */
	const struct scmp_arg_cmp fork_only[] = {
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_VM | CLONE_NEWNS | CLONE_NEWUSER |
			CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP, 0)};
	/* stopping pdns_server: only SIGTERM and SIGKILL; the kernel limits the target
	 * to processes of our own user (pdns_server and ourselves), none holds a
	 * capability we could gain */
	const struct scmp_arg_cmp term[] = {SCMP_A1(SCMP_CMP_EQ, SIGTERM, 0)};
	const struct scmp_arg_cmp kill9[] = {SCMP_A1(SCMP_CMP_EQ, SIGKILL, 0)};
	/* getrlimit/setrlimit of pdns (its file limit) on itself only (pid 0) */
	const struct scmp_arg_cmp rl_self[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffULL, 0)};

	if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), "clone", 1, fork_only) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), "kill", 1, term) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), "kill", 1, kill9) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), "prlimit64", 1, rl_self) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(keyctl), "keyctl", 0, NULL) != 0)
		return -1;
	return 0;
}

int dns_seccomp_rules(void *ctx)
{
	if (sandbox_rules_threads(ctx) != 0 || dns_socket_rules(ctx) != 0 ||
	    dns_process_rules(ctx) != 0)
		return -1;
	return sandbox_allow_list(ctx, dns_syscalls);
}
