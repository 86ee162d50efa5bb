/*
 * test_api_plan.c: the api-units command order (workers/api/plan.c) and its pure
 * helpers (workers/api/util.c): the reference's takeover order, relinquish, a
 * change of mind while a command runs (the last instruction wins), the Patroni
 * retries, patronictl's verdicts, the output tail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "api.h"

/* Run the plan to its end with every step succeeding; returns the steps run. */
static int drain(struct api_plan *p, enum api_step *out, int max)
{
	int n = 0;
	enum api_step s;

	while ((s = api_plan_next(p)) != API_STEP_NONE && n < max) {
		out[n++] = s;
		assert_int_equal(api_plan_done(p, API_RES_OK), 0);
	}
	return n;
}

static void test_takeover_order(void **state)
{
	struct api_plan p;
	enum api_step got[8];

	(void)state;
	api_plan_init(&p);
	assert_true(api_plan_idle(&p));
	assert_int_equal(api_plan_instruct(&p, 1), API_ACT_RUN);
	assert_int_equal(drain(&p, got, 8), 3);
	assert_int_equal(got[0], API_STEP_PATRONI);
	assert_int_equal(got[1], API_STEP_START_API);
	assert_int_equal(got[2], API_STEP_START_WORKER);
	assert_true(api_plan_idle(&p));
	/* the same instruction again: nothing */
	assert_int_equal(api_plan_instruct(&p, 1), API_ACT_NONE);
	assert_int_equal(api_plan_next(&p), API_STEP_NONE);
	/* relinquish: both stopped, the API first (as the reference) */
	assert_int_equal(api_plan_instruct(&p, 0), API_ACT_RUN);
	assert_int_equal(drain(&p, got, 8), 2);
	assert_int_equal(got[0], API_STEP_STOP_API);
	assert_int_equal(got[1], API_STEP_STOP_WORKER);
	assert_int_equal(api_plan_instruct(&p, 0), API_ACT_NONE);
}

/* A secondary never runs anything: not at start, not on repeats. */
static void test_secondary_runs_nothing(void **state)
{
	struct api_plan p;

	(void)state;
	api_plan_init(&p);
	assert_int_equal(api_plan_instruct(&p, 0), API_ACT_NONE);
	assert_int_equal(api_plan_next(&p), API_STEP_NONE);
	assert_int_equal(api_plan_instruct(&p, 0), API_ACT_NONE);
	assert_int_equal(api_plan_next(&p), API_STEP_NONE);
	assert_true(api_plan_idle(&p));
}

/* A relinquish during the takeover: the running command is cancelled, its late
 * completion is ignored, and only the stops run. */
static void test_relinquish_cancels_takeover(void **state)
{
	struct api_plan p;
	enum api_step got[8];

	(void)state;
	api_plan_init(&p);
	assert_int_equal(api_plan_instruct(&p, 1), API_ACT_RUN);
	assert_int_equal(api_plan_next(&p), API_STEP_PATRONI);
	assert_int_equal(api_plan_done(&p, API_RES_OK), 0);
	assert_int_equal(api_plan_next(&p), API_STEP_START_API);
	assert_int_equal(api_plan_instruct(&p, 0), API_ACT_CANCEL);
	/* nothing new while the cancelled one is still being reaped */
	assert_int_equal(api_plan_next(&p), API_STEP_NONE);
	assert_false(api_plan_idle(&p));
	assert_int_equal(api_plan_done(&p, API_RES_RETRY), 0); /* stale: ignored */
	assert_int_equal(drain(&p, got, 8), 2);
	assert_int_equal(got[0], API_STEP_STOP_API);
	assert_int_equal(got[1], API_STEP_STOP_WORKER);
	assert_true(api_plan_idle(&p));
}

/* Flapping: 1, 0, 1 while commands run ends with the full takeover. */
static void test_last_instruction_wins(void **state)
{
	struct api_plan p;
	enum api_step got[8];

	(void)state;
	api_plan_init(&p);
	assert_int_equal(api_plan_instruct(&p, 1), API_ACT_RUN);
	assert_int_equal(api_plan_next(&p), API_STEP_PATRONI);
	assert_int_equal(api_plan_instruct(&p, 0), API_ACT_CANCEL);
	(void)api_plan_done(&p, API_RES_OK);
	assert_int_equal(api_plan_next(&p), API_STEP_STOP_API);
	assert_int_equal(api_plan_instruct(&p, 1), API_ACT_CANCEL);
	(void)api_plan_done(&p, API_RES_OK);
	assert_int_equal(drain(&p, got, 8), 3);
	assert_int_equal(got[0], API_STEP_PATRONI);
	assert_int_equal(got[2], API_STEP_START_WORKER);
	assert_true(api_plan_idle(&p));
}

/* Patroni refuses: 5 tries 5 s apart, then the units start anyway (as the
 * reference); a success on a retry goes on at once. */
static void test_patroni_retries(void **state)
{
	struct api_plan p;

	(void)state;
	api_plan_init(&p);
	(void)api_plan_instruct(&p, 1);
	for (int i = 0; i < API_PATRONI_TRIES - 1; i++) {
		assert_int_equal(api_plan_next(&p), API_STEP_PATRONI);
		assert_int_equal(api_plan_done(&p, API_RES_RETRY), API_PATRONI_RETRY_MS);
	}
	assert_int_equal(api_plan_next(&p), API_STEP_PATRONI);
	assert_int_equal(api_plan_done(&p, API_RES_RETRY), 0);
	assert_int_equal(api_plan_next(&p), API_STEP_START_API);
	(void)api_plan_done(&p, API_RES_OK);

	/* a new takeover starts counting again */
	(void)api_plan_instruct(&p, 0);
	(void)api_plan_done(&p, API_RES_OK); /* the running start was cancelled */
	(void)api_plan_instruct(&p, 1);
	assert_int_equal(api_plan_next(&p), API_STEP_PATRONI);
	assert_int_equal(api_plan_done(&p, API_RES_RETRY), API_PATRONI_RETRY_MS);
	assert_int_equal(api_plan_next(&p), API_STEP_PATRONI);
	assert_int_equal(api_plan_done(&p, API_RES_OK), 0);
	assert_int_equal(api_plan_next(&p), API_STEP_START_API);
}

static void test_patroni_verdict(void **state)
{
	(void)state;
	assert_int_equal(api_util_patroni_verdict(
				 "Current cluster topology\n+---+\nError: Switchover target and "
				 "source are the same.\n", 0), API_PATRONI_SAME);
	assert_int_equal(api_util_patroni_verdict("x\n  Error:  Switchover target and source "
						  "are the same.  \n\n", 1), API_PATRONI_SAME);
	assert_int_equal(api_util_patroni_verdict("table\nSwitchover failed, details: 503\n", 0),
			 API_PATRONI_RETRY);
	assert_int_equal(api_util_patroni_verdict("Switchover failed, x\n", 1), API_PATRONI_RETRY);
	assert_int_equal(api_util_patroni_verdict("Error: no leader\n", 1), API_PATRONI_RETRY);
	assert_int_equal(api_util_patroni_verdict("Error\n", 1), API_PATRONI_RETRY);
	assert_int_equal(api_util_patroni_verdict("Errors are fine\n", 1), API_PATRONI_OK);
	assert_int_equal(api_util_patroni_verdict("Switchover failed\n", 1), API_PATRONI_OK);
	assert_int_equal(api_util_patroni_verdict(
				 "2026 Successfully switched over to \"hv2\"\n", 1), API_PATRONI_OK);
	assert_int_equal(api_util_patroni_verdict("Traceback ...\nKeyError: x\n", 0),
			 API_PATRONI_RETRY);
	assert_int_equal(api_util_patroni_verdict("", 1), API_PATRONI_OK);
	assert_int_equal(api_util_patroni_verdict(NULL, 0), API_PATRONI_RETRY);
}

static void test_tail_and_oneline(void **state)
{
	char buf[8];
	size_t len = 0;
	char line[] = "  a\tb\n\n c \r\n";

	(void)state;
	cmdrun_tail_append(buf, sizeof buf, &len, "abc", 3);
	assert_string_equal(buf, "abc");
	cmdrun_tail_append(buf, sizeof buf, &len, "defgh", 5);
	assert_string_equal(buf, "bcdefgh"); /* 7 bytes kept: the newest */
	cmdrun_tail_append(buf, sizeof buf, &len, "0123456789", 10);
	assert_string_equal(buf, "3456789");
	assert_int_equal(len, 7);
	api_util_oneline(line);
	assert_string_equal(line, "a b c");
}

static void test_describe(void **state)
{
	char b[256];

	(void)state;
	cmdrun_describe_status("api-units", 0, 1, 2000, b, sizeof b);
	assert_non_null(strstr(b, "timeout after 2000 ms"));
	cmdrun_describe_status("api-units", 3 << 8, 0, 5, b, sizeof b);
	assert_string_equal(b, "exit 3 after 5 ms");
	cmdrun_describe_status("api-units", 31, 0, 5, b, sizeof b); /* WTERMSIG 31 = SIGSYS */
	assert_non_null(strstr(b, "seccomp"));
}

static void test_check_command(void **state)
{
	char why[160];

	(void)state;
	assert_int_equal(api_util_check_command("/bin/sh", why, sizeof why), 0);
	assert_int_equal(api_util_check_command("bin/sh", why, sizeof why), -1);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(api_util_check_command("/nonexistent/x", why, sizeof why), -1);
	assert_non_null(strstr(why, "No such file"));
	assert_int_equal(api_util_check_command("/etc/passwd", why, sizeof why), -1);
	assert_non_null(strstr(why, "executable"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takeover_order),
		cmocka_unit_test(test_secondary_runs_nothing),
		cmocka_unit_test(test_relinquish_cancels_takeover),
		cmocka_unit_test(test_last_instruction_wins),
		cmocka_unit_test(test_patroni_retries),
		cmocka_unit_test(test_patroni_verdict),
		cmocka_unit_test(test_tail_and_oneline),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_check_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
