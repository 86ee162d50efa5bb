/*
 * test_route_bucket.c: the supervisor's per-role token bucket (supervisor/bucket.c)
 * driven by a made-up clock, and the cleaning of worker text (supervisor/wtext.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor.h"

static unsigned take_n(struct sup_bucket *b, uint64_t now, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += (unsigned)sup_bucket_take(b, now, 1);
	return ok;
}

static void test_burst_then_empty(void **state)
{
	struct sup_bucket b;

	sup_bucket_init(&b, 100, 50, 1000);
	assert_int_equal(take_n(&b, 1000, 80), 50);
	assert_int_equal(sup_bucket_dropped(&b), 30);
	/* reading the count resets it */
	assert_int_equal(sup_bucket_dropped(&b), 0);
}

static void test_refill_at_rate(void **state)
{
	struct sup_bucket b;

	sup_bucket_init(&b, 100, 50, 0);
	assert_int_equal(take_n(&b, 0, 50), 50);
	/* 100/s: one token every 10 ms, none before */
	assert_int_equal(take_n(&b, 9, 1), 0);
	assert_int_equal(take_n(&b, 10, 2), 1);
	/* fractions accumulate: 3 x 5 ms = 1.5 tokens */
	assert_int_equal(take_n(&b, 15, 1), 0);
	assert_int_equal(take_n(&b, 20, 1), 1);
	assert_int_equal(take_n(&b, 25, 1), 0);
	/* a second refills 100 tokens, capped at the burst */
	assert_int_equal(take_n(&b, 1025, 200), 50);
}

static void test_sustained_flood_is_held_to_rate(void **state)
{
	struct sup_bucket b;
	unsigned ok = 0;

	sup_bucket_init(&b, 1000, 4000, 0);
	/* 10 s of 300 frames per ms: burst + 10 s x rate pass, nothing more */
	for (uint64_t t = 0; t < 10000; t++)
		ok += take_n(&b, t, 300);
	assert_in_range(ok, 4000 + 9990, 4000 + 10000);
	assert_int_equal(sup_bucket_dropped(&b), 10000ull * 300 - ok);
}

static void test_clock_oddities(void **state)
{
	struct sup_bucket b;

	sup_bucket_init(&b, 1000, 10, 5000);
	assert_int_equal(take_n(&b, 5000, 10), 10);
	/* a clock going back refills nothing, and does not underflow */
	assert_int_equal(take_n(&b, 10, 1), 0);
	/* a huge gap refills to the burst, no overflow */
	assert_int_equal(take_n(&b, UINT64_MAX / 2, 20), 10);
	/* cost above the burst never passes */
	assert_int_equal(sup_bucket_take(&b, UINT64_MAX / 2 + 100000, 11), 0);
}

static void test_legit_busiest_fits(void **state)
{
	struct sup_bucket b;

	/* net-router/flush budget: a 100-VM flush (~500 requests in a second) or a
	 * boot storm of 1000 lease events at once passes whole */
	sup_bucket_init(&b, 1000, 4000, 0);
	assert_int_equal(take_n(&b, 0, 1000), 1000);
	assert_int_equal(take_n(&b, 500, 500), 500);
	assert_int_equal(sup_bucket_dropped(&b), 0);
}

static void test_wtext(void **state)
{
	char out[64];
	const char forged[] = "a\nfailed: forged\r\x1b[2J\x7f\tz";
	const char c1[] = "x\xc2\x9b" "31m \xc3\xa9";

	sup_wtext_clean(out, sizeof(out), forged, strlen(forged));
	assert_string_equal(out, "a\\x0afailed: forged\\x0d\\x1b[2J\\x7f\tz");
	/* UTF-8 C1 (U+009B, CSI) escaped, other UTF-8 (U+00E9) kept */
	sup_wtext_clean(out, sizeof(out), c1, strlen(c1));
	assert_string_equal(out, "x\\xc2\\x9b31m \xc3\xa9");
	/* cut with "..." and always terminated */
	assert_int_equal(sup_wtext_clean(out, 10, "0123456789abcdef", 16), 9);
	assert_string_equal(out, "012345...");
	/* an escape is never cut in the middle */
	assert_int_equal(sup_wtext_clean(out, 10, "\x1b\x1b\x1b", 3), 7);
	assert_string_equal(out, "\\x1b...");
	assert_int_equal(sup_wtext_clean(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_empty),
		cmocka_unit_test(test_refill_at_rate),
		cmocka_unit_test(test_sustained_flood_is_held_to_rate),
		cmocka_unit_test(test_clock_oddities),
		cmocka_unit_test(test_legit_busiest_fits),
		cmocka_unit_test(test_wtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
