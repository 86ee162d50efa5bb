/*
 * test_fence_judge.c: the dead-node judgement of zk-election (docs/fencing.md §2):
 * ages by ZooKeeper's mtimes, the grace epoch after a gap, only `run` nodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "zk_fence_int.h"

static void test_age(void **state)
{
	(void)state;
	/* plain: our mtime minus theirs */
	assert_int_equal(zk_fence_util_age(100000, 94000, 0), 6000);
	/* after a gap E = 99000: measured from E, not from their last write */
	assert_int_equal(zk_fence_util_age(100000, 50000, 99000), 1000);
	/* a node that wrote after E is measured from its own write */
	assert_int_equal(zk_fence_util_age(100000, 99500, 99000), 500);
}

static void test_dead(void **state)
{
	(void)state;
	assert_false(zk_fence_util_is_dead("run", 5000, 1, 5)); /* at the limit: not yet */
	assert_true(zk_fence_util_is_dead("run", 5001, 1, 5));
	assert_true(zk_fence_util_is_dead("run", 30001, 5, 6));
	assert_false(zk_fence_util_is_dead("run", 29999, 5, 6));
	/* only `run` nodes (ref §4.4) */
	assert_false(zk_fence_util_is_dead("dead", 999999, 1, 5));
	assert_false(zk_fence_util_is_dead("stop", 999999, 1, 5));
	assert_false(zk_fence_util_is_dead("init", 999999, 1, 5));
	assert_false(zk_fence_util_is_dead(NULL, 999999, 1, 5));
	assert_false(zk_fence_util_is_dead("run ", 999999, 1, 5));
	/* fence_intervals 0 never makes everybody dead (ref §12.2 #23) */
	assert_false(zk_fence_util_is_dead("run", 999999, 1, 0));
	assert_false(zk_fence_util_is_dead("run", 999999, 0, 5));
	/* the ZooKeeper outage scenario: everybody's keepalive is 60 s old when we
	 * return, but E is our first keepalive after the gap */
	assert_false(zk_fence_util_is_dead("run", zk_fence_util_age(160000, 100000, 160000), 1, 5));
	assert_true(zk_fence_util_is_dead("run", zk_fence_util_age(165500, 100000, 160000), 1, 5));
}

static void test_gap(void **state)
{
	(void)state;
	assert_true(zk_fence_util_gap(0, 5000, 1));        /* first keepalive of this process */
	assert_false(zk_fence_util_gap(5000, 6000, 1));
	assert_false(zk_fence_util_gap(5000, 7000, 1));    /* one missed tick: still continuous */
	assert_true(zk_fence_util_gap(5000, 7001, 1));
	assert_false(zk_fence_util_gap(5000, 15000, 5));
	assert_true(zk_fence_util_gap(5000, 15001, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_dead),
		cmocka_unit_test(test_gap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
