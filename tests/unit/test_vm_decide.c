/*
 * test_vm_decide.c: the VM decision table of ref §5.3, row by row, and the console
 * log tail (bounded lines, invalid UTF-8 replaced).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vm_domain.h"

static const char *const all_states[] = {"start", "restart", "shutdown", "stop", "migrate",
					 "disable", "fail", "provision", "delete", "stopped",
					 "unmigrate", NULL};

/* owner, running */
static void test_owner_running(void **st)
{
	assert_int_equal(vm_decide_action(1, 1, "start"), VA_ADOPT);
	assert_int_equal(vm_decide_action(1, 1, "migrate"), VA_ADOPT_WRITE_START);
	assert_int_equal(vm_decide_action(1, 1, "restart"), VA_RESTART);
	assert_int_equal(vm_decide_action(1, 1, "shutdown"), VA_SHUTDOWN);
	assert_int_equal(vm_decide_action(1, 1, "stop"), VA_STOP);
	/* anything else: the VM keeps running */
	assert_int_equal(vm_decide_action(1, 1, "disable"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "fail"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "provision"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "delete"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "stopped"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "unmigrate"), VA_NONE);
}

/* owner, not running */
static void test_owner_stopped(void **st)
{
	assert_int_equal(vm_decide_action(1, 0, "start"), VA_START);
	assert_int_equal(vm_decide_action(1, 0, "migrate"), VA_RECEIVE);
	assert_int_equal(vm_decide_action(1, 0, "restart"), VA_WRITE_START);
	assert_int_equal(vm_decide_action(1, 0, "shutdown"), VA_FORGET);
	assert_int_equal(vm_decide_action(1, 0, "stop"), VA_FORGET);
	assert_int_equal(vm_decide_action(1, 0, "disable"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 0, "fail"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 0, "provision"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 0, "delete"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 0, "stopped"), VA_NONE);
}

/* not owner, running */
static void test_other_running(void **st)
{
	assert_int_equal(vm_decide_action(0, 1, "migrate"), VA_MIGRATE_OUT);
	assert_int_equal(vm_decide_action(0, 1, "shutdown"), VA_SHUTDOWN);
	/* anything else: terminate (destroy without a state write) */
	assert_int_equal(vm_decide_action(0, 1, "start"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "stop"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "restart"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "disable"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "fail"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "delete"), VA_TERMINATE);
}

/* not owner, not running: never anything */
static void test_other_stopped(void **st)
{
	for (int i = 0; all_states[i]; i++)
		assert_int_equal(vm_decide_action(0, 0, all_states[i]), VA_NONE);
}

/* garbage states never cause an action, whatever the rest */
static void test_invalid_states(void **st)
{
	const char *bad[] = {"", "START", "start ", "stopp", "running", "migrate\n", NULL};

	for (int i = 0; bad[i]; i++) {
		assert_false(vm_decide_state_valid(bad[i]));
		for (int o = 0; o < 2; o++)
			for (int r = 0; r < 2; r++)
				assert_int_equal(vm_decide_action(o, r, bad[i]), VA_NONE);
	}
	assert_int_equal(vm_decide_action(1, 1, NULL), VA_NONE);
	for (int i = 0; all_states[i]; i++)
		assert_true(vm_decide_state_valid(all_states[i]));
}

static void test_console_last_lines(void **st)
{
	const char in[] = "one\ntwo\nthree\nfour\n";
	size_t n;
	char *out = vm_console_tail(in, strlen(in), 0, 2, &n);

	assert_non_null(out);
	assert_string_equal(out, "three\nfour\n");
	assert_int_equal(n, strlen("three\nfour\n"));
	free(out);
	/* fewer lines than asked: everything */
	out = vm_console_tail(in, strlen(in), 0, 100, &n);
	assert_string_equal(out, in);
	free(out);
	/* unterminated last line counts as a line */
	out = vm_console_tail("a\nb\nc", 5, 0, 2, &n);
	assert_string_equal(out, "b\nc");
	free(out);
	/* a read that began mid-file drops the partial first line */
	out = vm_console_tail("tial\nwhole\n", 11, 1, 10, &n);
	assert_string_equal(out, "whole\n");
	free(out);
}

static void test_console_invalid_utf8(void **st)
{
	/* invalid byte, truncated sequence, overlong, surrogate, NUL, valid 2/3/4-byte */
	const char in[] = "a\xff" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e\0f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n";
	size_t n;
	char *out = vm_console_tail(in, sizeof(in) - 1, 0, 5, &n);
	const char want[] = "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd"
			    "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e\xef\xbf\xbd"
			    "f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n";

	assert_non_null(out);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	assert_null(memchr(out, '\0', n));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_running),
		cmocka_unit_test(test_owner_stopped),
		cmocka_unit_test(test_other_running),
		cmocka_unit_test(test_other_stopped),
		cmocka_unit_test(test_invalid_states),
		cmocka_unit_test(test_console_last_lines),
		cmocka_unit_test(test_console_invalid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
