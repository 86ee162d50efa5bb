/*
 * test_sandbox.c: workers/sandbox*.c on the real kernel. Each case forks a child
 * that confines itself with sandbox_enter() and then does one thing; the parent
 * reads the child's /proc/PID/status from outside and checks how the child ended
 * (allowed: exit 0; denied with an error: exit 3; forbidden: killed by SIGSYS).
 * Needs root (skipped otherwise) and the user "nobody".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"
#include "log.h"
#include "priv.h" /* supervisor/priv.c: whether the daemon may start without Landlock */
#include "worker.h"

#define EXIT_DENIED 3

static char tmpdir[] = "/tmp/pvc-sandbox-XXXXXX";
static char okfile[64];

static int no_rules(void *ctx)
{
	return 0;
}

static int ro_rules(void *ctx)
{
	return sandbox_rules_files_ro(ctx);
}

static int tcp_rules(void *ctx)
{
	return sandbox_rules_tcp_client(ctx);
}

static int thread_rules(void *ctx)
{
	return sandbox_rules_threads(ctx);
}

/* Run `action` in a confined child; fill `status` (may be NULL) with the child's
 * /proc/PID/status taken after confinement; return the wait status. */
static int run_confined(const struct sandbox_spec *spec, int (*action)(void), char *status,
			size_t ssize)
{
	int up[2], down[2], ws = 0;
	char c;
	pid_t pid;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		if (sandbox_enter(spec) != 0)
			_exit(2);
		c = 'r';
		/* confined now: wait until the parent has looked at us */
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(4);
		_exit(action());
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], &c, 1) == 1) {
		if (status) {
			char path[64];
			FILE *f;
			size_t n;
			snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
			f = fopen(path, "r");
			assert_non_null(f);
			n = fread(status, 1, ssize - 1, f);
			status[n] = '\0';
			fclose(f);
		}
		assert_int_equal(write(down[1], "g", 1), 1);
	} else if (status) {
		status[0] = '\0';
	}
	close(up[0]);
	close(down[1]);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	return ws;
}

static void expect_field(const char *status, const char *key, const char *want)
{
	char line[128];
	const char *p = strstr(status, key);
	size_t n;

	assert_non_null(p);
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, "\n");
	assert_true(n < sizeof(line));
	memcpy(line, p, n);
	line[n] = '\0';
	assert_string_equal(line, want);
}

static void expect_killed_sigsys(int ws)
{
	assert_true(WIFSIGNALED(ws));
	assert_int_equal(WTERMSIG(ws), SIGSYS);
}

static void expect_exit(int ws, int code)
{
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), code);
}

/* ---- actions (run confined) ---------------------------------------------------- */

static int act_nothing(void)
{
	return 0;
}

static int act_tcp_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : EXIT_DENIED;
}

static int act_netlink_socket(void)
{
	if (socket(AF_NETLINK, SOCK_RAW, 0) >= 0)
		return 0;
	return errno == EACCES ? EXIT_DENIED : 5;
}

static int act_unix_socket(void)
{
	if (socket(AF_UNIX, SOCK_STREAM, 0) >= 0)
		return 0;
	return errno == EACCES ? EXIT_DENIED : 5;
}

static int act_tcp6_socket(void)
{
	return socket(AF_INET6, SOCK_STREAM, 0) >= 0 ? 0 : EXIT_DENIED;
}

static int act_exec(void)
{
	char *const argv[] = {"true", NULL};
	execv("/bin/true", argv);
	return EXIT_DENIED;
}

static int act_open_listed(void)
{
	int fd = open(okfile, O_RDONLY | O_CLOEXEC);
	char b[4];
	if (fd < 0 || read(fd, b, sizeof(b)) != 2)
		return EXIT_DENIED;
	close(fd);
	return 0;
}

static int act_open_unlisted(void)
{
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return 0;
	return errno == EACCES ? EXIT_DENIED : 5;
}

static int act_open_write(void)
{
	return open(okfile, O_WRONLY | O_CLOEXEC) >= 0 ? 0 : EXIT_DENIED;
}

static int act_kill_parent(void)
{
	return kill(getppid(), 0) == 0 ? 0 : EXIT_DENIED;
}

static int act_abort(void)
{
	abort();
}

static int act_log_and_malloc(void)
{
	char *p = malloc(1 << 20); /* mmap path of malloc */
	if (p == NULL)
		return EXIT_DENIED;
	memset(p, 1, 1 << 20);
	free(p);
	log_info("a log line from a confined process, %d", 42);
	return 0;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int act_thread(void)
{
	pthread_t t;
	void *r = NULL;
	if (pthread_create(&t, NULL, thread_fn, (void *)1) != 0 || pthread_join(t, &r) != 0)
		return EXIT_DENIED;
	return r == (void *)1 ? 0 : 5;
}

static int act_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return p > 0 ? 0 : EXIT_DENIED;
}

/* ---- cases ----------------------------------------------------------------------- */

static const struct sandbox_spec spec_plain = {.user = "nobody", .seccomp_rules = no_rules};

static void test_status_unprivileged(void **state)
{
	char st[4096];
	int ws = run_confined(&spec_plain, act_nothing, st, sizeof(st));

	expect_exit(ws, 0);
	expect_field(st, "Uid:", "65534\t65534\t65534\t65534");
	expect_field(st, "Gid:", "65534\t65534\t65534\t65534");
	expect_field(st, "Groups:", "");
	expect_field(st, "CapInh:", "0000000000000000");
	expect_field(st, "CapPrm:", "0000000000000000");
	expect_field(st, "CapEff:", "0000000000000000");
	expect_field(st, "CapBnd:", "0000000000000000");
	expect_field(st, "CapAmb:", "0000000000000000");
	expect_field(st, "NoNewPrivs:", "1");
	expect_field(st, "Seccomp:", "2");
}

static void test_status_net_caps(void **state)
{
	const struct sandbox_spec spec = {
		.user = "nobody",
		.keep_caps = (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW),
		.seccomp_rules = no_rules,
	};
	char st[4096];
	int ws = run_confined(&spec, act_nothing, st, sizeof(st));

	expect_exit(ws, 0);
	expect_field(st, "Uid:", "65534\t65534\t65534\t65534");
	expect_field(st, "CapPrm:", "0000000000003000");
	expect_field(st, "CapEff:", "0000000000003000");
	expect_field(st, "CapBnd:", "0000000000003000");
	expect_field(st, "CapInh:", "0000000000000000");
	expect_field(st, "Seccomp:", "2");
}

static void test_stay_root_without_caps(void **state)
{
	const struct sandbox_spec spec = {.user = NULL, .seccomp_rules = no_rules};
	char st[4096];

	expect_exit(run_confined(&spec, act_nothing, st, sizeof(st)), 0);
	expect_field(st, "Uid:", "0\t0\t0\t0");
	expect_field(st, "CapEff:", "0000000000000000");
	expect_field(st, "CapBnd:", "0000000000000000");
	expect_field(st, "NoNewPrivs:", "1");
}

static void test_refusals(void **state)
{
	const struct sandbox_spec nouser = {.user = "no-such-user-pvc", .seccomp_rules = no_rules};
	const struct sandbox_spec root = {.user = "root", .seccomp_rules = no_rules};
	const struct sandbox_spec norules = {.user = "nobody"};

	expect_exit(run_confined(&nouser, act_nothing, NULL, 0), 2);
	expect_exit(run_confined(&root, act_nothing, NULL, 0), 2);
	expect_exit(run_confined(&norules, act_nothing, NULL, 0), 2);
}

static void test_forbidden_syscalls(void **state)
{
	expect_killed_sigsys(run_confined(&spec_plain, act_tcp_socket, NULL, 0));
	expect_killed_sigsys(run_confined(&spec_plain, act_exec, NULL, 0));
	expect_killed_sigsys(run_confined(&spec_plain, act_open_listed, NULL, 0));
	expect_killed_sigsys(run_confined(&spec_plain, act_kill_parent, NULL, 0));
	expect_killed_sigsys(run_confined(&spec_plain, act_fork, NULL, 0));
	expect_killed_sigsys(run_confined(&spec_plain, act_thread, NULL, 0));
}

static void test_common_allowed(void **state)
{
	expect_exit(run_confined(&spec_plain, act_log_and_malloc, NULL, 0), 0);
	/* abort() signals itself: allowed, ends in SIGABRT, not SIGSYS */
	{
		int ws = run_confined(&spec_plain, act_abort, NULL, 0);
		assert_true(WIFSIGNALED(ws));
		assert_int_equal(WTERMSIG(ws), SIGABRT);
	}
}

static void test_files_ro_and_landlock(void **state)
{
	const char *const ro[] = {tmpdir, NULL};
	const struct sandbox_spec spec = {
		.user = "nobody", .ro_paths = ro, .seccomp_rules = ro_rules};

	expect_exit(run_confined(&spec, act_open_listed, NULL, 0), 0);
	/* readable by nobody, but outside the Landlock rules */
	expect_exit(run_confined(&spec, act_open_unlisted, NULL, 0), EXIT_DENIED);
	/* writing is outside the seccomp rules */
	expect_killed_sigsys(run_confined(&spec, act_open_write, NULL, 0));
}

static void test_tcp_client(void **state)
{
	const struct sandbox_spec spec = {.user = "nobody", .seccomp_rules = tcp_rules};

	expect_exit(run_confined(&spec, act_tcp_socket, NULL, 0), 0);
	expect_exit(run_confined(&spec, act_tcp6_socket, NULL, 0), 0);
	expect_exit(run_confined(&spec, act_unix_socket, NULL, 0), EXIT_DENIED);
	/* refused, not killed: glibc's getaddrinfo(AI_ADDRCONFIG) probes rtnetlink */
	expect_exit(run_confined(&spec, act_netlink_socket, NULL, 0), EXIT_DENIED);
}

static void test_threads(void **state)
{
	const struct sandbox_spec spec = {.user = "nobody", .seccomp_rules = thread_rules};

	expect_exit(run_confined(&spec, act_thread, NULL, 0), 0);
	/* clone without CLONE_THREAD (a new process) stays forbidden */
	expect_killed_sigsys(run_confined(&spec, act_fork, NULL, 0));
}

static int setup(void **state)
{
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "test_sandbox: needs root, skipped\n");
		return -1;
	}
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0)
		return -1;
	snprintf(okfile, sizeof(okfile), "%s/ok", tmpdir);
	fd = open(okfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "ok", 2) != 2 || close(fd) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)unlink(okfile);
	(void)rmdir(tmpdir);
	return 0;
}

/* Issue #16: Landlock missing must not fail open. The decision, for every case,
 * then the probe against the kernel's own answer. */
static void test_landlock_decision(void **state)
{
	char text[512];
	long abi;

	(void)state;
	/* available: enforced, whatever the key says */
	assert_int_equal(priv_landlock_decide(7, 0, text, sizeof text), 0);
	assert_string_equal(text, "enforced (ABI 7) in every worker");
	assert_int_equal(priv_landlock_decide(1, 1, text, sizeof text), 0);
	assert_string_equal(text, "enforced (ABI 1) in every worker");
	/* unavailable and not allowed: refused, naming the key that would allow it */
	assert_int_equal(priv_landlock_decide(0, 0, text, sizeof text), -1);
	assert_non_null(strstr(text, "no Landlock"));
	assert_non_null(strstr(text, "refusing to start"));
	assert_non_null(strstr(text, "pvc.system.supervisor.allow_no_landlock: true"));
	/* unavailable and allowed: runs, and says so */
	assert_int_equal(priv_landlock_decide(0, 1, text, sizeof text), 0);
	assert_non_null(strstr(text, "NOT AVAILABLE"));
	assert_non_null(strstr(text, "allowed by pvc.system.supervisor.allow_no_landlock"));

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U /* _VERSION */);
	assert_int_equal(priv_landlock_abi(), abi < 1 ? 0 : (int)abi);
	print_message("this kernel: Landlock ABI %d\n", priv_landlock_abi());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_unprivileged),
		cmocka_unit_test(test_status_net_caps),
		cmocka_unit_test(test_stay_root_without_caps),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_forbidden_syscalls),
		cmocka_unit_test(test_common_allowed),
		cmocka_unit_test(test_files_ro_and_landlock),
		cmocka_unit_test(test_tcp_client),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_landlock_decision),
	};
	struct log_opts lo = {.to_stdout = 1, .dates = 1};

	log_init("test_sandbox", &lo);
	return cmocka_run_group_tests(tests, setup, teardown);
}
