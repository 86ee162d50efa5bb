/*
 * sandbox_seccomp.c: the seccomp allow-lists shared by the workers, the filter
 * loader and, in test builds only, the forbidden-action trigger and the SIGSYS
 * reporter.
 *
 * Default action: kill the whole process (never a single thread: a half-dead
 * worker is worse than a restarted one). Anything not listed here or in the
 * role's own rules function kills the worker, and the supervisor restarts it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "sanitizer.h"
#include "worker.h"

int sandbox_add_rule(void *ctx, uint32_t action, int nr, const char *name, unsigned n,
		     const struct scmp_arg_cmp *cmp)
{
	int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);

	if (rc != 0) {
		log_errx("sandbox: seccomp rule %s: %s", name, strerror(-rc));
		return -1;
	}
	return 0;
}

int sandbox_allow_list(void *ctx, const struct sandbox_sys *table)
{
	for (; table->name != NULL; table++)
		if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, table->nr, table->name, 0, NULL) != 0)
			return -1;
	return 0;
}

/* ---- sanitizer builds only (make asan-build) ---------------------------------------
 * A report from a confined worker must come out whole, and must be fatal: the
 * supervisor hands workers a scrubbed environment (no ASAN_OPTIONS/UBSAN_OPTIONS), so
 * the defaults below are what workers run with; an exported ASAN_OPTIONS still wins
 * for the supervisor, pvcctl and the unit tests. symbolize=0: the symbolizer is a
 * child process (fork + exec, forbidden here): the report shows module+offset
 * instead, which `llvm-symbolizer --obj=BINARY` resolves afterwards. The runtime
 * reads /proc/self/maps with the legacy open(2) to name the modules; without this
 * rule the worker dies of SIGSYS in the middle of its report. Landlock still decides
 * which paths open. */
#ifdef PVC_SANITIZER
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "halt_on_error=1:abort_on_error=1:symbolize=0";
}

const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:abort_on_error=1:print_stacktrace=1:symbolize=0";
}

static int sb_rules_sanitizer(void *ctx)
{
	const struct scmp_arg_cmp rdonly[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY)};
	/* The runtime counts CPUs and reads the NUMA policy at start-up: a
	 * single-threaded sanitizer-built program (net-router's lease helper, run by
	 * dnsmasq under our filter) dies of SIGSYS before main() without these. */
	static const struct {
		int nr;
		const char *name;
	} startup[] = {
		{SCMP_SYS(sched_getaffinity), "sched_getaffinity (sanitizer)"},
		{SCMP_SYS(get_mempolicy), "get_mempolicy (sanitizer)"},
		{SCMP_SYS(set_mempolicy), "set_mempolicy (sanitizer)"},
	};

	if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), "open (sanitizer)", 1, rdonly) != 0)
		return -1;
	for (size_t i = 0; i < sizeof startup / sizeof startup[0]; i++)
		if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, startup[i].nr, startup[i].name, 0, NULL) != 0)
			return -1;
	return 0;
}
#else
static int sb_rules_sanitizer(void *ctx)
{
	(void)ctx;
	return 0;
}
#endif

/* Allowed to every worker whatever the arguments. */
static const struct sandbox_sys common_syscalls[] = {
	/* I/O on fds we already hold (IPC socketpair, sockets opened before confinement). */
	SANDBOX_SYS(read),
	SANDBOX_SYS(write),
	SANDBOX_SYS(readv),
	SANDBOX_SYS(writev),
	SANDBOX_SYS(close),
	SANDBOX_SYS(sendmsg),
	SANDBOX_SYS(recvmsg),
	SANDBOX_SYS(sendto),
	SANDBOX_SYS(recvfrom),
	SANDBOX_SYS(fcntl),
	SANDBOX_SYS(lseek),
	SANDBOX_SYS(fstat),
	SANDBOX_SYS(newfstatat), /* glibc's fstat() */
	SANDBOX_SYS(statx),
	/* The event loop. */
	SANDBOX_SYS(poll),
	SANDBOX_SYS(ppoll),
	SANDBOX_SYS(epoll_wait),
	SANDBOX_SYS(epoll_pwait),
	SANDBOX_SYS(epoll_ctl),
	SANDBOX_SYS(epoll_create1),
	/* Time. */
	SANDBOX_SYS(clock_gettime),
	SANDBOX_SYS(clock_nanosleep),
	SANDBOX_SYS(nanosleep),
	SANDBOX_SYS(gettimeofday),
	SANDBOX_SYS(time),
	/* Memory (malloc, libraries). */
	SANDBOX_SYS(brk),
	SANDBOX_SYS(mmap),
	SANDBOX_SYS(munmap),
	SANDBOX_SYS(mremap),
	SANDBOX_SYS(mprotect),
	SANDBOX_SYS(madvise),
	SANDBOX_SYS(futex),
	SANDBOX_SYS(getrandom),
	/* Process life. */
	SANDBOX_SYS(exit),
	SANDBOX_SYS(exit_group),
	SANDBOX_SYS(restart_syscall),
	SANDBOX_SYS(rt_sigaction),
	SANDBOX_SYS(rt_sigprocmask),
	SANDBOX_SYS(rt_sigreturn),
	SANDBOX_SYS(sigaltstack),
	SANDBOX_SYS(sched_yield),
	SANDBOX_SYS(prctl),
	SANDBOX_SYS(getrlimit),
	/* Identity and host facts (status lines, log prefixes). */
	SANDBOX_SYS(getpid),
	SANDBOX_SYS(gettid),
	SANDBOX_SYS(getppid),
	SANDBOX_SYS(getuid),
	SANDBOX_SYS(geteuid),
	SANDBOX_SYS(getgid),
	SANDBOX_SYS(getegid),
	SANDBOX_SYS(uname),
	SANDBOX_SYS(sysinfo),
	SANDBOX_SYS_END,
};

int sandbox_rules_common(void *ctx)
{
	/* Signals only to ourselves: abort() and raise() use them. */
	const struct scmp_arg_cmp self[] = {SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0)};
	/* getrlimit() is prlimit64(0, res, NULL, old): reading our own limits only. */
	const struct scmp_arg_cmp rl[] = {SCMP_A0(SCMP_CMP_EQ, 0, 0), SCMP_A2(SCMP_CMP_EQ, 0, 0)};
	/* stdio asks isatty() when it first buffers stdout/stderr (fallback logging). */
	const struct scmp_arg_cmp tcgets[] = {SCMP_A1(SCMP_CMP_EQ, TCGETS, 0)};

	if (sandbox_allow_list(ctx, common_syscalls) != 0)
		return -1;
	if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), "kill", 1, self) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), "tgkill", 1, self) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), "prlimit64", 2, rl) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), "ioctl", 1, tcgets) != 0)
		return -1;
	return sb_rules_sanitizer(ctx);
}

int sandbox_rules_threads(void *ctx)
{
	const struct scmp_arg_cmp thread[] = {
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)};
	static const struct sandbox_sys threads[] = {
		SANDBOX_SYS(set_robust_list),
		SANDBOX_SYS(rseq),
		SANDBOX_SYS(sched_getaffinity),
		SANDBOX_SYS(madvise), /* thread stacks are released with MADV_DONTNEED */
		SANDBOX_SYS(mprotect), /* guard pages */
		SANDBOX_SYS_END,
	};

	/* A thread shares our filter; a new process would not be one of us. */
	if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), "clone", 1, thread) != 0)
		return -1;
	/* clone3 passes its flags in memory, which seccomp cannot inspect: make glibc
	 * fall back to clone, whose flags we can. */
	if (sandbox_add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), "clone3", 0, NULL) != 0)
		return -1;
	return sandbox_allow_list(ctx, threads);
}

int sandbox_rules_files_ro(void *ctx)
{
	const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_TRUNC;
	const struct scmp_arg_cmp at[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, mask, O_RDONLY)};
	const struct scmp_arg_cmp plain[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, mask, O_RDONLY)};

	if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), "openat", 1, at) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), "open", 1, plain) != 0)
		return -1;
	return 0;
}

/* The kernel reads kill's pid as a 32-bit int (the upper half of the register is not
 * even defined: glibc's kill leaves a negative int zero-extended) while seccomp sees
 * all 64 bits, so the rules test the low 32 bits, exactly what the kernel will use:
 * "bits 22..31 set and bit i clear" for some i < 22 is -2^22..-2, i.e. a process
 * group, never -1 (every process we may signal). One rule per bit, as libseccomp
 * takes one comparison per argument. A positive pid (0x1_0000_0000|pid included)
 * is allowed to ourselves only (common rules). */
#define SANDBOX_PGID_BITS 22 /* PID_MAX_LIMIT = 2^22 */
#define SANDBOX_KILL_HIGH (0xffffffffULL & (0xffffffffULL << SANDBOX_PGID_BITS))

int sandbox_rules_kill_group(void *ctx)
{
	for (unsigned bit = 0; bit < SANDBOX_PGID_BITS; bit++) {
		const struct scmp_arg_cmp group_kill[] = {
			SCMP_A0(SCMP_CMP_MASKED_EQ, SANDBOX_KILL_HIGH | ((scmp_datum_t)1 << bit),
				SANDBOX_KILL_HIGH),
			SCMP_A1(SCMP_CMP_EQ, SIGKILL, 0)};
		if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), "kill(-pgid)", 2,
				     group_kill) != 0)
			return -1;
	}
	return 0;
}

int sandbox_rules_tcp_client(void *ctx)
{
	const struct scmp_arg_cmp inet[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET, 0)};
	const struct scmp_arg_cmp inet6[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0)};
	const struct scmp_arg_cmp unix_[] = {SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)};
	const struct scmp_arg_cmp netlink[] = {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0)};
	static const struct sandbox_sys client[] = {
		SANDBOX_SYS(connect),
		SANDBOX_SYS(getsockopt),
		SANDBOX_SYS(setsockopt),
		SANDBOX_SYS(getsockname),
		SANDBOX_SYS(getpeername),
		SANDBOX_SYS(shutdown),
		SANDBOX_SYS(sendmmsg), /* the resolver's parallel A/AAAA queries */
		SANDBOX_SYS_END,
	};

	/* IPv4/IPv6 only: no netlink, no packet sockets, no UNIX sockets. */
	if (sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket(AF_INET)", 1, inet) != 0 ||
	    sandbox_add_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket(AF_INET6)", 1, inet6) != 0)
		return -1;
	/* glibc's resolver first tries nscd over a UNIX socket: an error lets it fall
	 * back to files and DNS instead of killing the process. */
	if (sandbox_add_rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), "socket(AF_UNIX)", 1,
		     unix_) != 0)
		return -1;
	/* getaddrinfo(AI_ADDRCONFIG) asks rtnetlink which families are configured; when
	 * refused, glibc assumes both IPv4 and IPv6. A refusal, never a netlink socket. */
	if (sandbox_add_rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), "socket(AF_NETLINK)", 1,
		     netlink) != 0)
		return -1;
	return sandbox_allow_list(ctx, client);
}

#ifdef PVC_TEST_HOOKS
/* Test builds: say which syscall was refused, then die of SIGSYS as the kill
 * action would (SA_RESETHAND: the raise below meets the default action). Only
 * async-signal-safe calls. */
static void sb_sigsys(int sig, siginfo_t *si, void *uc)
{
	char buf[96] = "pvcnoded: seccomp: forbidden syscall ";
	size_t n = strlen(buf);
	char num[16];
	int k = 0, nr = si->si_syscall;

	(void)uc;
	if (nr < 0)
		nr = 0;
	do {
		num[k++] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr > 0 && k < (int)sizeof(num));
	while (k > 0 && n < sizeof(buf) - 2)
		buf[n++] = num[--k];
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
	(void)raise(sig);
	_exit(128 + sig);
}

static int sb_trap_mode(void)
{
	const char *v = getenv("PVC_SECCOMP_LOG");
	struct sigaction sa;

	if (v == NULL || strcmp(v, "1") != 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sb_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGSYS, &sa, NULL) != 0) {
		log_err("sandbox: SIGSYS handler");
		return -1;
	}
	return 1;
}
#endif

int sandbox_seccomp_load(int (*role_rules)(void *scmp_ctx))
{
	uint32_t deflt = SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int rc;

#ifdef PVC_TEST_HOOKS
	rc = sb_trap_mode();
	if (rc < 0)
		return -1;
	if (rc == 1)
		deflt = SCMP_ACT_TRAP;
#endif
	/* The context holds only the native architecture: an x32 or i386 syscall
	 * (another table, other numbers) meets the bad-arch action, set to kill too. */
	ctx = seccomp_init(deflt);
	if (ctx == NULL) {
		log_errx("sandbox: seccomp_init failed");
		return -1;
	}
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc != 0) {
		log_errx("sandbox: seccomp bad-arch action: %s", strerror(-rc));
		goto fail;
	}
	if (sandbox_rules_common(ctx) != 0 || role_rules(ctx) != 0)
		goto fail;
	rc = seccomp_load(ctx);
	if (rc != 0) {
		log_errx("sandbox: seccomp_load: %s", strerror(-rc));
		goto fail;
	}
	seccomp_release(ctx);
	return 0;
fail:
	seccomp_release(ctx);
	return -1;
}

#ifdef PVC_TEST_HOOKS
/* Test builds only. $PVC_TEST_FORBIDDEN = "<role>:<action>" makes that worker try
 * something its confinement must stop, right after it is ready. The expected
 * outcome is death by SIGSYS; if the kernel refuses with an error instead, the
 * worker says so and exits 1; if the action succeeds, it says "NOT STOPPED" (the
 * test fails) and exits 1 as well, so every case ends in a restart. */
static int sb_try(const char *action)
{
	if (strcmp(action, "tcp") == 0) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			return -1;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		/* Refused (nothing on port 9) still means the connect was permitted. */
		if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno != ECONNREFUSED) {
			close(s);
			return -1;
		}
		close(s);
		return 0;
	}
	if (strcmp(action, "netlink") == 0) {
		int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -1;
		close(s);
		return 0;
	}
	if (strcmp(action, "exec") == 0) {
		char *const argv[] = {"true", NULL};
		char *const envp[] = {NULL};
		execve("/bin/true", argv, envp);
		return -1;
	}
	if (strcmp(action, "open") == 0) {
		int fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	}
	if (strcmp(action, "readable") == 0) {
		/* world-readable: only Landlock (or seccomp) can stop this one */
		int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	}
	if (strcmp(action, "readdir") == 0) {
		/* /var: world-readable and outside every role's Landlock paths */
		int fd = open("/var", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	}
	if (strcmp(action, "fork") == 0) {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0)
			_exit(0);
		(void)waitpid(pid, NULL, 0);
		return 0;
	}
	errno = EINVAL;
	return -2;
}

void sandbox_test_hook(enum pvc_role role)
{
	const char *v = getenv("PVC_TEST_FORBIDDEN");
	const char *name = role_name(role), *colon;
	size_t n = strlen(name);
	int rc;

	if (v == NULL || (colon = strchr(v, ':')) == NULL || (size_t)(colon - v) != n ||
	    strncmp(v, name, n) != 0)
		return;
	log_warnx("sandbox test: attempting forbidden action %s", colon + 1);
	rc = sb_try(colon + 1);
	if (rc == -2) {
		log_errx("sandbox test: unknown action %s", colon + 1);
		return;
	}
	if (rc == 0)
		log_errx("sandbox test: %s NOT STOPPED", colon + 1);
	else
		log_warnx("sandbox test: %s denied: %s", colon + 1, strerror(errno));
	exit(1);
}
#endif
