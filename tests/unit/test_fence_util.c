/*
 * test_fence_util.c: the fence worker's pure helpers (request validation, the
 * power status comparison, log scrubbing) and its command runner on real
 * processes: output capture, the password only in the environment, the deadline
 * killing the whole process group.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"
#include "pvc.h"
#include "fence.h"
#include "sandbox.h"

static void test_valid(void **state)
{
	(void)state;
	assert_true(fence_util_valid_id("f12"));
	assert_false(fence_util_valid_id(""));
	assert_false(fence_util_valid_id("a b"));
	assert_false(fence_util_valid_id("0123456789012345678901234567890123456789"));
	assert_true(fence_util_valid_arg("hv1-lom.example.com"));
	assert_true(fence_util_valid_arg("10.0.0.7"));
	assert_false(fence_util_valid_arg("-P"));          /* would be read as an option */
	assert_false(fence_util_valid_arg("a b"));
	assert_false(fence_util_valid_arg("a\nb"));
	assert_false(fence_util_valid_arg(""));
	assert_false(fence_util_valid_arg(NULL));
}

static void test_status(void **state)
{
	(void)state;
	assert_true(fence_util_status_is_on("Chassis Power is on\n"));
	assert_true(fence_util_status_is_on("Chassis Power is on"));
	assert_true(fence_util_status_is_on("Get HPM.x Capabilities request failed\nChassis Power is on \r\n"));
	assert_false(fence_util_status_is_on("Chassis Power is off\n"));
	assert_false(fence_util_status_is_on("Chassis Power is on?\n"));
	assert_false(fence_util_status_is_on("xChassis Power is on\n"));
	assert_false(fence_util_status_is_on(""));
	assert_false(fence_util_status_is_on(NULL));
}

static void test_scrub(void **state)
{
	char a[] = "error: password s3cret! rejected (s3cret!)\n";
	char b[] = "pw=ab and ab\n";
	char c[] = "nothing\tsecret\r\n";

	(void)state;
	fence_util_scrub(a, "s3cret!");
	assert_string_equal(a, "error: password *** rejected (***)");
	fence_util_scrub(b, "ab");
	assert_string_equal(b, "pw=** and **");
	fence_util_scrub(c, "");
	assert_string_equal(c, "nothing secret");
}

struct run {
	struct ev_loop *loop;
	int done;
};

static void done_cb(struct cmdrun *c, void *arg)
{
	struct run *r = arg;

	(void)c;
	r->done = 1;
	ev_break(r->loop);
}

static void run_cmd(struct cmdrun *c, const char *script, const char *pw, unsigned timeout)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	struct run r = {ev_new(), 0};

	assert_non_null(r.loop);
	assert_int_equal(fence_run_start(c, r.loop, argv, pw, timeout, done_cb, &r), 0);
	assert_int_equal(ev_run(r.loop), 0);
	assert_true(r.done);
	ev_free(r.loop);
}

static void test_run_env_and_output(void **state)
{
	struct cmdrun c;

	(void)state;
	/* the password reaches the environment; argv does not carry it */
	run_cmd(&c, "echo \"pw=$IPMI_PASSWORD\"; echo err >&2; exit 3", "hunter2", 5000);
	assert_true(c.exited);
	assert_false(c.timed_out);
	assert_false(cmdrun_ok(&c));
	assert_non_null(strstr(c.out, "pw=hunter2"));
	assert_non_null(strstr(c.out, "err"));
	run_cmd(&c, "test -z \"$HOME\" && test -n \"$PATH\" && ! read x", "x", 5000);
	assert_true(cmdrun_ok(&c)); /* nothing of our environment but PATH */
}

static int alive(pid_t pid)
{
	char path[64], st[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	p = fgets(st, sizeof(st), f);
	fclose(f);
	p = p ? strrchr(st, ')') : NULL;
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void test_run_deadline_kills_group(void **state)
{
	struct cmdrun c;
	char pidfile[] = "/tmp/test_fence_util.XXXXXX", script[256], buf[32] = "";
	uint64_t t0;
	FILE *f;
	int fd = mkstemp(pidfile);
	long child;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* a grandchild that would outlive a plain kill of the shell */
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; wait", pidfile);
	t0 = mono_ms();
	run_cmd(&c, script, "x", 300);
	assert_true(c.timed_out);
	assert_false(cmdrun_ok(&c));
	assert_true(mono_ms() - t0 < 5000);
	f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	unlink(pidfile);
	child = strtol(buf, NULL, 10);
	assert_true(child > 1);
	/* killed with its group: gone, or a zombie if PID 1 does not reap */
	for (int i = 0; i < 50 && alive((pid_t)child); i++)
		usleep(20000);
	assert_false(alive((pid_t)child));
}

/* A command the seccomp filter killed is named as such, not as "signal 31"; the
 * status comes from a real child that dies of SIGSYS. */
static void test_describe(void **state)
{
	char buf[256];
	int st = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSYS, SIG_DFL);
		raise(SIGSYS);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	cmdrun_describe_status("fence", st, 0, 12, buf, sizeof(buf));
	assert_non_null(strstr(buf, "killed by the seccomp filter (SIGSYS) after 12 ms"));
	assert_non_null(strstr(buf, "syscall=N"));
	assert_null(strstr(buf, "signal 31"));
	/* a wrapper shell whose ipmitool died of SIGSYS exits 128+31 */
	cmdrun_describe_status("fence", 159 << 8, 0, 3, buf, sizeof(buf));
	assert_non_null(strstr(buf, "exit 159 after 3 ms (128+SIGSYS"));
	cmdrun_describe_status("fence", 1 << 8, 0, 5, buf, sizeof(buf));
	assert_string_equal(buf, "exit 1 after 5 ms");
	cmdrun_describe_status("fence", SIGKILL, 0, 7, buf, sizeof(buf));
	assert_string_equal(buf, "signal 9 after 7 ms");
	cmdrun_describe_status("fence", SIGKILL, 1, 7, buf, sizeof(buf));
	assert_string_equal(buf, "timeout after 7 ms (process group killed)");
	cmdrun_describe_status("fence", -1, 0, 7, buf, sizeof(buf));
	assert_string_equal(buf, "status unknown after 7 ms");
}

/* In a child under the fence worker's real seccomp filter (default action: kill):
 * a shell, its fork and sleep, output capture and the deadline's group kill all
 * work, and a TCP socket does not. Exit status: 0 ok, 2.. which step failed. */
static int filtered_child(void)
{
	struct cmdrun c;
	const char *ok_argv[] = {"sh", "-c", "echo ok; sleep 0.05", NULL};
	const char *slow_argv[] = {"sh", "-c", "sleep 30 & wait", NULL};
	struct run r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    sandbox_seccomp_load(fence_seccomp_rules) != 0)
		return 2;
	r.loop = ev_new();
	r.done = 0;
	if (r.loop == NULL || fence_run_start(&c, r.loop, ok_argv, "pw", 5000, done_cb, &r) != 0 ||
	    ev_run(r.loop) != 0 || !cmdrun_ok(&c) || strstr(c.out, "ok") == NULL)
		return 3;
	r.done = 0;
	if (fence_run_start(&c, r.loop, slow_argv, "pw", 300, done_cb, &r) != 0 ||
	    ev_run(r.loop) != 0 || !c.timed_out)
		return 4;
	return 0;
}

static void test_under_fence_seccomp(void **state)
{
	int st = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(filtered_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("killed by signal %d under the fence filter (31 = a syscall is missing)",
			 WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_scrub),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_run_env_and_output),
		cmocka_unit_test(test_run_deadline_kills_group),
		cmocka_unit_test(test_under_fence_seccomp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
