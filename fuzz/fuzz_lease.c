/*
 * fuzz_lease.c: libFuzzer target for the lease socket protocol
 * (workers/lease_proto.c). The input is used three ways:
 *   - as a request line: whatever lease_req_parse accepts must format back to a
 *     line that parses to the same request;
 *   - as a reply: status line, then lease lines checked one by one; an accepted
 *     status must have rc 0 or negative;
 *   - as a single lease line: accepted lines have exactly 5 fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lease_proto.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct lease_req r, r2;
	char line[LEASE_LINE_MAX + 8], msg[128], err[256];
	size_t used;
	int rc, n;

	if (lease_req_parse(s, size, &r, err, sizeof(err)) == 0) {
		n = lease_req_format(&r, line, sizeof(line));
		check(n > 0);
		check(lease_req_parse(line, (size_t)n, &r2, err, sizeof(err)) == 0);
		check(memcmp(&r, &r2, sizeof(r)) == 0);
	}
	if (lease_reply_parse_status(s, size, &rc, msg, sizeof(msg), &used) == 0) {
		check(rc <= 0);
		check(used <= size && used > 0 && s[used - 1] == '\n');
		n = lease_reply_format_status(rc, msg, line, sizeof(line));
		check(n > 0);
		while (used < size) {
			const char *p = s + used, *nl = memchr(p, '\n', size - used);
			size_t l = nl ? (size_t)(nl - p) : size - used;
			(void)lease_line_valid(p, l);
			used += l + (nl != NULL);
		}
	}
	if (lease_line_valid(s, size)) {
		int spaces = 0;
		for (size_t i = 0; i < size; i++)
			spaces += s[i] == ' ';
		check(spaces == 4);
	}
	return 0;
}
