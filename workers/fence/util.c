/*
 * util.c: pure helpers of the fence worker: request validation, the power
 * status comparison and log scrubbing. No I/O, so the unit tests pin them.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "fence.h"

int fence_util_valid_id(const char *id)
{
	size_t n;

	if (id == NULL)
		return 0;
	n = strlen(id);
	if (n == 0 || n >= FENCE_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

int fence_util_valid_arg(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n == 0 || n > 255 || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int fence_util_status_is_on(const char *out)
{
	static const char want[] = "Chassis Power is on";
	const char *p = out;

	/* stdout and stderr share one pipe: BMC warnings may surround the answer, so
	 * any one line, trailing blanks stripped, may carry it */
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == sizeof(want) - 1 && memcmp(p, want, n) == 0)
			return 1;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

void fence_util_scrub(char *buf, const char *secret)
{
	size_t sl = secret ? strlen(secret) : 0, n;
	char *p;

	if (buf == NULL)
		return;
	if (sl > 0) {
		char *from = buf;
		while ((p = strstr(from, secret)) != NULL) {
			/* "***" is never longer than what it replaces when sl >= 3; a shorter
			 * secret is starred out in place */
			if (sl >= 3) {
				memcpy(p, "***", 3);
				memmove(p + 3, p + sl, strlen(p + sl) + 1);
				from = p + 3;
			} else {
				memset(p, '*', sl);
				from = p + sl;
			}
		}
	}
	for (p = buf; *p; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f)
			*p = ' ';
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
}
