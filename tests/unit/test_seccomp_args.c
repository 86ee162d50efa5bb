/*
 * test_seccomp_args.c: the argument filters of the fence and net-router seccomp
 * rules, on the real kernel and on the filter's own BPF.
 *
 * The kernel reads pid arguments as 32-bit ints while seccomp compares the whole
 * 64-bit register: a rule that tests "negative" on 64 bits lets
 * kill(0x1_0000_0000|pid) and kill(-1) through. Each case runs in a forked child
 * that installs the real filter and makes one call; the parent reads how it
 * ended. Only harmless calls reach the kernel: signal 0, or SIGKILL to a pid or
 * group that truncates to the child itself. kill(-1, SIGKILL) is never made:
 * its verdict is computed by running the filter's exported BPF on a
 * seccomp_data in this process.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>

#include <cmocka.h>

#include "fence.h"
#include "net_seccomp.h"
#include "sandbox.h"
#include "worker.h"

enum filt { F_FENCE, F_NET, F_DNSMASQ };

/* ---- real kernel -------------------------------------------------------------- */

static int install(enum filt f)
{
	struct sock_fprog prog;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	if (f == F_FENCE)
		return sandbox_seccomp_load(fence_seccomp_rules);
	/* dnsmasq: the program is built before the inherited filter, as net-router
	 * builds it before forking */
	if (f == F_DNSMASQ && net_seccomp_dnsmasq_prog(&prog) != 0)
		return -1;
	if (sandbox_seccomp_load(net_seccomp_rules) != 0)
		return -1;
	if (f == F_DNSMASQ && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
		return -1;
	return 0;
}

/* A child of ours made with clone(CLONE_PIDFD), killed through the pidfd: the
 * way net-router stops dnsmasq. 0 if the signal went out. */
static long own_child_by_pidfd(void)
{
	int pidfd = -1;
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PIDFD | SIGCHLD), NULL, &pidfd,
				   NULL, NULL);
	long rc;

	if (pid == 0) {
		/* the filter may kill our parent before it signals us: go with it, and
		 * never hold the test runner's stdout open */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
			_exit(1);
		close(STDOUT_FILENO);
		close(STDERR_FILENO);
		for (;;)
			sleep(1000); /* clock_nanosleep: in every filter, unlike pause */
	}
	if (pid < 0)
		return -1;
	rc = syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	(void)waitpid(pid, NULL, 0);
	return rc;
}

enum act {
	KILL_SELF_HIGH_BIT,  /* kill(0x1_0000_0000|getpid(), SIGKILL): truncates to us */
	KILL_GROUP_ZEROEXT,  /* kill(-getpgrp(), SIGKILL) zero-extended, as glibc's kill passes it */
	KILL_GROUP_SIGNEXT,  /* the same sign-extended: the same pid to the kernel */
	KILL_MINUS1_SIG0,    /* kill(0xffffffff, 0) */
	KILL_SELF_SIG0,      /* kill(getpid(), 0) */
	PRLIMIT_OTHER,       /* prlimit64(parent, RLIMIT_NOFILE, NULL, &old): read only */
	PRLIMIT_SELF,
	PIDFD_OPEN_OTHER,    /* pidfd_open(parent) */
	PIDFD_OWN_CHILD,     /* clone(CLONE_PIDFD) + pidfd_send_signal(SIGKILL) */
	SOCK_AF_PACKET,
	SOCK_NL_NETFILTER,
	SOCK_NL_ROUTE,
	SOCK_UDP,
};

static long act(enum act a)
{
	struct rlimit old;
	unsigned long me = (unsigned long)getpid();
	long r = -1;

	switch (a) {
	case KILL_SELF_HIGH_BIT:
		return syscall(SYS_kill, 0x100000000UL | me, SIGKILL);
	case KILL_GROUP_ZEROEXT:
		if (setpgid(0, 0) != 0)
			return -1;
		return syscall(SYS_kill, (unsigned long)(uint32_t)-(int32_t)me, SIGKILL);
	case KILL_GROUP_SIGNEXT:
		if (setpgid(0, 0) != 0)
			return -1;
		return syscall(SYS_kill, -(long)me, SIGKILL);
	case KILL_MINUS1_SIG0:
		return syscall(SYS_kill, 0xffffffffUL, 0);
	case KILL_SELF_SIG0:
		return syscall(SYS_kill, me, 0);
	case PRLIMIT_OTHER:
		return syscall(SYS_prlimit64, getppid(), RLIMIT_NOFILE, NULL, &old);
	case PRLIMIT_SELF:
		return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old);
	case PIDFD_OPEN_OTHER:
		return syscall(SYS_pidfd_open, getppid(), 0);
	case PIDFD_OWN_CHILD:
		return own_child_by_pidfd();
	case SOCK_AF_PACKET:
		r = socket(AF_PACKET, SOCK_DGRAM, 0);
		break;
	case SOCK_NL_NETFILTER:
		r = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
		break;
	case SOCK_NL_ROUTE:
		r = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
		break;
	case SOCK_UDP:
		r = socket(AF_INET, SOCK_DGRAM, 0);
		break;
	}
	return r;
}

/* How the call ended: "sigsys", "sigkill" (it went through and hit us), "ok"
 * (returned 0 or an fd), "error" (returned -1), "setup" (no filter). */
static const char *try_under(enum filt f, enum act a)
{
	int st = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (install(f) != 0)
			_exit(3);
		_exit(act(a) >= 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return WTERMSIG(st) == SIGSYS ? "sigsys" : WTERMSIG(st) == SIGKILL ? "sigkill" : "signal";
	if (WIFEXITED(st) && WEXITSTATUS(st) <= 1)
		return WEXITSTATUS(st) == 0 ? "ok" : "error";
	return "setup";
}

static void test_fence_kill(void **state)
{
	(void)state;
	/* the old rule (arg0 > 0x7fffffff on 64 bits) let this through: "sigkill" */
	assert_string_equal(try_under(F_FENCE, KILL_SELF_HIGH_BIT), "sigsys");
	/* what the deadline does: a group (here our own), however the upper half of
	 * the register looks: the kernel reads only the int */
	assert_string_equal(try_under(F_FENCE, KILL_GROUP_ZEROEXT), "sigkill");
	assert_string_equal(try_under(F_FENCE, KILL_GROUP_SIGNEXT), "sigkill");
	assert_string_equal(try_under(F_FENCE, KILL_MINUS1_SIG0), "sigsys");
	assert_string_equal(try_under(F_FENCE, KILL_SELF_SIG0), "ok");
}

static void test_fence_prlimit(void **state)
{
	(void)state;
	assert_string_equal(try_under(F_FENCE, PRLIMIT_OTHER), "sigsys");
	assert_string_equal(try_under(F_FENCE, PRLIMIT_SELF), "ok");
}

static void test_net(void **state)
{
	(void)state;
	assert_string_equal(try_under(F_NET, PRLIMIT_OTHER), "sigsys");
	assert_string_equal(try_under(F_NET, PRLIMIT_SELF), "ok");
	assert_string_equal(try_under(F_NET, PIDFD_OPEN_OTHER), "sigsys");
	assert_string_equal(try_under(F_NET, PIDFD_OWN_CHILD), "ok");
	assert_string_equal(try_under(F_NET, KILL_MINUS1_SIG0), "sigsys");
	/* net-router itself keeps its packet and netfilter sockets */
	assert_string_equal(try_under(F_NET, SOCK_NL_NETFILTER), "ok");
}

static void test_dnsmasq(void **state)
{
	(void)state;
	assert_string_equal(try_under(F_DNSMASQ, SOCK_AF_PACKET), "sigsys");
	assert_string_equal(try_under(F_DNSMASQ, SOCK_NL_NETFILTER), "sigsys");
	assert_string_equal(try_under(F_DNSMASQ, PIDFD_OWN_CHILD), "sigsys");
	assert_string_equal(try_under(F_DNSMASQ, SOCK_NL_ROUTE), "ok");
	assert_string_equal(try_under(F_DNSMASQ, SOCK_UDP), "ok");
	assert_string_equal(try_under(F_DNSMASQ, PRLIMIT_SELF), "ok");
}

/* ---- the filter's BPF, evaluated here ------------------------------------------ */

struct prog {
	struct sock_filter *insn;
	size_t n;
};

static struct prog fence_bpf(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	struct prog p = {0};
	int fd[2];
	ssize_t r;
	size_t cap = 65536;

	assert_non_null(ctx);
	assert_int_equal(sandbox_rules_common(ctx), 0);
	assert_int_equal(fence_seccomp_rules(ctx), 0);
	assert_int_equal(pipe(fd), 0);
	assert_int_equal(seccomp_export_bpf(ctx, fd[1]), 0);
	close(fd[1]);
	seccomp_release(ctx);
	p.insn = malloc(cap);
	assert_non_null(p.insn);
	while ((r = read(fd[0], (char *)p.insn + p.n, cap - p.n)) > 0)
		p.n += (size_t)r;
	close(fd[0]);
	assert_true(p.n > 0 && p.n < cap && p.n % sizeof(struct sock_filter) == 0);
	p.n /= sizeof(struct sock_filter);
	return p;
}

static uint32_t load_word(const struct seccomp_data *d, uint32_t off)
{
	uint32_t w;

	assert_true(off + 4 <= sizeof(*d));
	memcpy(&w, (const char *)d + off, 4);
	return w;
}

/* Classic BPF as the kernel runs it for seccomp, for the instructions libseccomp
 * emits; anything else fails the test rather than guessing. */
static uint32_t run_bpf(const struct prog *p, const struct seccomp_data *d)
{
	uint32_t a = 0;

	for (size_t pc = 0; pc < p->n; pc++) {
		const struct sock_filter *i = &p->insn[pc];
		int t = 0;
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			a = load_word(d, i->k);
			continue;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= i->k;
			continue;
		case BPF_JMP | BPF_JA:
			pc += i->k;
			continue;
		case BPF_JMP | BPF_JEQ | BPF_K:
			t = a == i->k;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			t = a > i->k;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			t = a >= i->k;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			t = (a & i->k) != 0;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			fail_msg("BPF opcode 0x%x not handled by the test's interpreter", i->code);
		}
		pc += t ? i->jt : i->jf;
	}
	fail_msg("BPF program ran off its end");
	return 0;
}

static int kill_allowed(const struct prog *p, uint64_t pid, uint64_t sig)
{
	struct seccomp_data d = {.nr = SCMP_SYS(kill), .arch = seccomp_arch_native()};

	d.args[0] = pid;
	d.args[1] = sig;
	return run_bpf(p, &d) == SECCOMP_RET_ALLOW;
}

static void test_fence_kill_bpf(void **state)
{
	struct prog p = fence_bpf();

	(void)state;
	/* kill(-1, SIGKILL): every process of the worker user, in both encodings */
	assert_false(kill_allowed(&p, 0xffffffffffffffffULL, SIGKILL));
	assert_false(kill_allowed(&p, 0xffffffffULL, SIGKILL));
	assert_false(kill_allowed(&p, 0x100000000ULL | 4321, SIGKILL));
	assert_false(kill_allowed(&p, 0x5ffffffffULL, SIGKILL)); /* -1 with junk above */
	assert_false(kill_allowed(&p, (uint64_t)(int64_t)INT32_MIN, SIGKILL));
	assert_false(kill_allowed(&p, (uint64_t)(int64_t)-4321, SIGTERM));
	assert_false(kill_allowed(&p, 0, SIGKILL));     /* our own group: not a command's */
	assert_false(kill_allowed(&p, 4321, SIGKILL));  /* a single other process */
	/* a command's process group, pids 2 .. 2^22-1 */
	assert_true(kill_allowed(&p, (uint64_t)(int64_t)-2, SIGKILL));
	assert_true(kill_allowed(&p, (uint64_t)(int64_t)-4321, SIGKILL));
	assert_true(kill_allowed(&p, (uint64_t)(int64_t)-4194303, SIGKILL));
	assert_true(kill_allowed(&p, (uint64_t)(uint32_t)-4321, SIGKILL)); /* glibc's kill */
	/* ourselves (common rules: abort, raise) */
	assert_true(kill_allowed(&p, (uint64_t)getpid(), SIGABRT));
	free(p.insn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fence_kill_bpf),
		cmocka_unit_test(test_fence_kill),
		cmocka_unit_test(test_fence_prlimit),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_dnsmasq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
