/*
 * bucket.c: a token bucket, as a pure function of an injected clock (the unit test
 * drives it with made-up times). Tokens are kept in thousandths so that a rate in
 * tokens per second refills exactly with a millisecond clock.
 */
#include "supervisor.h"

/* Longest gap refilled at once: keeps (gap x rate) far from overflowing, and any gap
 * this long refills a bucket of any burst we use anyway. */
#define BUCKET_MAX_GAP_MS (1000u * 1000u)

void sup_bucket_init(struct sup_bucket *b, uint32_t rate_per_s, uint32_t burst, uint64_t now_ms)
{
	b->rate = rate_per_s;
	b->burst = burst;
	b->milli = (uint64_t)burst * 1000u;
	b->at_ms = now_ms;
	b->dropped = 0;
}

int sup_bucket_take(struct sup_bucket *b, uint64_t now_ms, uint32_t cost)
{
	uint64_t full = (uint64_t)b->burst * 1000u, need = (uint64_t)cost * 1000u;

	/* a clock that went back refills nothing (and never underflows) */
	if (now_ms > b->at_ms) {
		uint64_t gap = now_ms - b->at_ms;

		if (gap > BUCKET_MAX_GAP_MS)
			gap = BUCKET_MAX_GAP_MS;
		/* ms x tokens/s = thousandths of a token */
		b->milli += gap * b->rate;
		if (b->milli > full)
			b->milli = full;
		b->at_ms = now_ms;
	}
	if (b->milli >= need) {
		b->milli -= need;
		return 1;
	}
	b->dropped++;
	return 0;
}

uint64_t sup_bucket_dropped(struct sup_bucket *b)
{
	uint64_t n = b->dropped;

	b->dropped = 0;
	return n;
}
