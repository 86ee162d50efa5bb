/*
 * util.c: pure helpers of the api-units worker: patronictl's verdict, the output
 * tail kept for the log, how a command ended, and the check of a command's file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "api.h"

/* The last non-blank line of `out`, as [*start, *start + *len). */
static void last_line(const char *out, const char **start, size_t *len)
{
	size_t n = strlen(out);

	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' ||
			 out[n - 1] == '\t'))
		n--;
	*start = out;
	for (size_t i = n; i > 0; i--)
		if (out[i - 1] == '\n') {
			*start = out + i;
			break;
		}
	*len = (size_t)(out + n - *start);
}

/* Whitespace-separated words of [s, s+len) equal `words` (as Python's split()). */
static int words_are(const char *s, size_t len, const char *const *words, int prefix_only)
{
	size_t i = 0;
	int w = 0;

	for (;;) {
		size_t b, wl;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (words[w] == NULL)
			return prefix_only || i >= len;
		if (i >= len)
			return 0;
		b = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		wl = i - b;
		if (wl != strlen(words[w]) || memcmp(s + b, words[w], wl) != 0)
			return 0;
		w++;
	}
}

enum api_patroni_verdict api_util_patroni_verdict(const char *out, int exit_ok)
{
	static const char *const same[] = {"Error:", "Switchover", "target", "and", "source",
					   "are", "the", "same.", NULL};
	static const char *const failed[] = {"Switchover", "failed,", NULL};
	const char *l;
	size_t n;

	last_line(out ? out : "", &l, &n);
	if (words_are(l, n, same, 0))
		return API_PATRONI_SAME;
	/* the reference compared the first word with "Error"; patronictl prints
	 * "Error: ...", which that test never matched: both forms are a failure */
	if (words_are(l, n, failed, 1) || (n >= 5 && memcmp(l, "Error", 5) == 0 &&
					   (n == 5 || l[5] == ':' || l[5] == ' ')))
		return API_PATRONI_RETRY;
	return exit_ok ? API_PATRONI_OK : API_PATRONI_RETRY;
}

void api_util_oneline(char *buf)
{
	char *r = buf, *w = buf;
	int blank = 1; /* drops leading blanks */

	for (; *r; r++) {
		unsigned char c = (unsigned char)*r;
		int sp = c <= ' ' || c == 0x7f;

		if (sp && blank)
			continue;
		*w++ = sp ? ' ' : (char)c;
		blank = sp;
	}
	if (w > buf && w[-1] == ' ')
		w--;
	*w = '\0';
}

int api_util_check_command(const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (path[0] != '/') {
		snprintf(why, whylen, "not an absolute path");
		return -1;
	}
	if (stat(path, &st) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) {
		snprintf(why, whylen, "not an executable file");
		return -1;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, whylen, "not owned by root or writable by others (uid %u mode %04o)",
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
