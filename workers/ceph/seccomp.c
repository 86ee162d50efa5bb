/*
 * seccomp.c: the allow-list of the ceph worker beyond sandbox_rules_common():
 * librados/librbd run their own threads (messenger, timers, finisher), talk TCP to
 * the monitors and OSDs with epoll and eventfd wake-ups, and read their
 * configuration and keyring. No exec, no fork, no file writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>

#include "ceph_int.h"
#include "sandbox.h"

static const struct sandbox_sys ceph_syscalls[] = {
	SANDBOX_SYS(epoll_create),
	SANDBOX_SYS(epoll_create1),
	SANDBOX_SYS(epoll_ctl),
	SANDBOX_SYS(epoll_wait),
	SANDBOX_SYS(epoll_pwait),
	SANDBOX_SYS(eventfd2),
	SANDBOX_SYS(pipe2),
	SANDBOX_SYS(futex),
	SANDBOX_SYS(sched_yield),
	SANDBOX_SYS(sched_setaffinity),
	SANDBOX_SYS(nanosleep),
	SANDBOX_SYS(clock_nanosleep),
	SANDBOX_SYS(prctl),      /* thread names (PR_SET_NAME) */
	SANDBOX_SYS(madvise),
	SANDBOX_SYS(mprotect),
	SANDBOX_SYS(getrandom),
	SANDBOX_SYS(gettid),
	SANDBOX_SYS(getpid),
	SANDBOX_SYS(getuid),
	SANDBOX_SYS(geteuid),
	SANDBOX_SYS(getgid),
	SANDBOX_SYS(getegid),
	SANDBOX_SYS(uname),
	SANDBOX_SYS(newfstatat),
	SANDBOX_SYS(statx),
	SANDBOX_SYS(fstat),
	SANDBOX_SYS(stat),
	SANDBOX_SYS(lseek),
	SANDBOX_SYS(pread64),
	SANDBOX_SYS(readlink),
	SANDBOX_SYS(access),
	SANDBOX_SYS(faccessat),
	SANDBOX_SYS(getdents64),
	SANDBOX_SYS(getcwd),
	SANDBOX_SYS(sysinfo),
	SANDBOX_SYS(getrlimit),
	SANDBOX_SYS(prlimit64),
	SANDBOX_SYS(sched_getaffinity),
	SANDBOX_SYS(getpriority),
	SANDBOX_SYS(setpriority),
	SANDBOX_SYS(ioprio_set),
	SANDBOX_SYS(timerfd_create),
	SANDBOX_SYS(timerfd_settime),
	SANDBOX_SYS(recvmsg),
	SANDBOX_SYS(sendmsg),
	SANDBOX_SYS(recvfrom),
	SANDBOX_SYS(sendto),
	SANDBOX_SYS(getpeername),
	SANDBOX_SYS(readv),
	SANDBOX_SYS(writev),
	SANDBOX_SYS(fcntl),
	SANDBOX_SYS(ioctl),
	SANDBOX_SYS(dup),
	SANDBOX_SYS(rt_sigaction),
	SANDBOX_SYS(rt_sigprocmask),
	SANDBOX_SYS(sigaltstack),
	SANDBOX_SYS(tgkill),
	SANDBOX_SYS(membarrier),
	SANDBOX_SYS_END,
};

/* Ceph names its threads with pthread_setname_np(), which opens
 * /proc/self/task/<tid>/comm read-write: answered EACCES (as Landlock would), the
 * thread keeps its name and Ceph ignores the failure. Every other writable open
 * still kills. */
static int ceph_rw_open_rule(void *scmp_ctx)
{
	const struct scmp_arg_cmp rdwr[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDWR)};

	return sandbox_add_rule(scmp_ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat),
				"openat(O_RDWR) -> EACCES", 1, rdwr);
}

int ceph_seccomp_rules(void *scmp_ctx)
{
	if (sandbox_rules_threads(scmp_ctx) != 0 || sandbox_rules_files_ro(scmp_ctx) != 0 ||
	    sandbox_rules_tcp_client(scmp_ctx) != 0 || ceph_rw_open_rule(scmp_ctx) != 0)
		return -1;
	return sandbox_allow_list(scmp_ctx, ceph_syscalls);
}
