/*
 * test_api_run.c: the api-units command runner (workers/api/run.c) on real
 * processes: output tail capture, exit status, the deadline killing the whole
 * process group (a grandchild included), an abort that reports nothing, and the
 * fixed environment of the commands.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "api.h"
#include "evloop.h"
#include "pvc.h"

struct run {
	struct ev_loop *loop;
	int calls;
};

static void done_cb(struct cmdrun *c, void *arg)
{
	struct run *r = arg;

	r->calls++;
	ev_break(r->loop);
}

static void run_one(struct cmdrun *c, const char *script, unsigned timeout_ms, struct run *r)
{
	const char *argv[] = {"/bin/sh", "-c", script, NULL};

	r->loop = ev_new();
	r->calls = 0;
	assert_non_null(r->loop);
	assert_int_equal(api_run_start(c, r->loop, argv, timeout_ms, done_cb, r), 0);
	assert_int_equal(ev_run(r->loop), 0);
	assert_int_equal(r->calls, 1);
	ev_free(r->loop);
}

static void test_ok_and_output(void **state)
{
	struct cmdrun c;
	struct run r;

	(void)state;
	run_one(&c, "echo out; echo err >&2; exit 0", 5000, &r);
	assert_true(cmdrun_ok(&c));
	assert_non_null(strstr(c.out, "out"));
	assert_non_null(strstr(c.out, "err"));
	run_one(&c, "echo failing; exit 3", 5000, &r);
	assert_false(cmdrun_ok(&c));
	assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 3);
}

/* Only the tail of a long output is kept (the end of patronictl's output decides). */
static void test_tail(void **state)
{
	struct cmdrun c;
	struct run r;

	(void)state;
	run_one(&c, "i=0; while [ $i -lt 400 ]; do echo line$i; i=$((i+1)); done; echo LAST", 5000,
		&r);
	assert_true(cmdrun_ok(&c));
	assert_int_equal(c.outlen, sizeof(c.out) - 1);
	assert_non_null(strstr(c.out, "line399\nLAST"));
	assert_null(strstr(c.out, "line1\n"));
}

/* The environment is fixed: nothing of ours leaks into the commands. */
static void test_env(void **state)
{
	struct cmdrun c;
	struct run r;

	(void)state;
	assert_int_equal(setenv("PVC_API_SECRET_TEST", "leak", 1), 0);
	run_one(&c, "env", 5000, &r);
	assert_null(strstr(c.out, "PVC_API_SECRET_TEST"));
	assert_non_null(strstr(c.out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"));
	assert_non_null(strstr(c.out, "PYTHONDONTWRITEBYTECODE=1"));
}

/* A hanging command and its grandchild die at the deadline. */
static void test_deadline_kills_group(void **state)
{
	struct cmdrun c;
	struct run r;
	char desc[200];
	uint64_t t0 = mono_ms();
	pid_t gc = 0;

	(void)state;
	run_one(&c, "sleep 30 & echo $!; wait", 300, &r);
	assert_true(c.timed_out);
	assert_false(cmdrun_ok(&c));
	assert_true(mono_ms() - t0 < 3000);
	cmdrun_describe(&c, desc, sizeof desc);
	assert_non_null(strstr(desc, "timeout after"));
	assert_int_equal(sscanf(c.out, "%d", &gc), 1);
	assert_true(gc > 1);
	/* the grandchild was killed with the group (it may linger as a zombie of
	 * init for a moment: wait for it to be gone) */
	for (int i = 0; i < 100 && kill(gc, 0) == 0; i++)
		usleep(10000);
	{
		char p[64], st[256] = "";
		FILE *f;

		snprintf(p, sizeof p, "/proc/%d/stat", (int)gc);
		f = fopen(p, "r");
		if (f) {
			if (fgets(st, sizeof st, f) == NULL)
				st[0] = '\0';
			fclose(f);
			/* a zombie is dead already */
			assert_non_null(strstr(st, ") Z "));
		}
	}
}

/* An abort kills at once and does not call done. */
static void test_abort(void **state)
{
	const char *argv[] = {"/bin/sh", "-c", "sleep 30", NULL};
	struct cmdrun c;
	struct run r = {.loop = ev_new()};
	pid_t pid;

	(void)state;
	assert_int_equal(api_run_start(&c, r.loop, argv, 5000, done_cb, &r), 0);
	pid = c.pid;
	cmdrun_abort(&c);
	assert_int_equal(r.calls, 0);
	assert_true(kill(pid, 0) != 0 && errno == ESRCH);
	cmdrun_abort(&c); /* twice: nothing */
	ev_free(r.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_and_output),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_deadline_kills_group),
		cmocka_unit_test(test_abort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
