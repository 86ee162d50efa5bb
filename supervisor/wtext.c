/*
 * wtext.c: text a worker supplied (log frames, its stdout/stderr, status lines),
 * made safe for the journal, the log file and an operator's terminal. A worker may be
 * compromised: a newline would forge a line that seems to come from the supervisor or
 * another role, ESC or a C1 control would drive the terminal of whoever reads the
 * log (retitle it, hide text, inject keystrokes on some emulators). Such bytes become
 * a visible \xNN: nothing is lost for an operator reading a crash report.
 */
#include <stdio.h>
#include <string.h>

#include "supervisor.h"

static int wtext_needs_escape(const unsigned char *p, size_t i, size_t len)
{
	unsigned char c = p[i];

	if (c == '\t')
		return 0;
	if (c < 0x20 || c == 0x7f)
		return 1;
	/* U+0080..U+009F (C1 controls, e.g. CSI U+009B) encoded in UTF-8: both bytes,
	 * since some 8-bit terminals take the second alone as CSI */
	if (c == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
		return 1;
	if (c >= 0x80 && c <= 0x9f && i > 0 && p[i - 1] == 0xc2)
		return 1;
	return 0;
}

size_t sup_wtext_clean(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0;

	if (dstsz == 0)
		return 0;
	for (size_t i = 0; i < srclen; i++) {
		char esc[5];
		size_t n = 1;

		if (wtext_needs_escape(p, i, srclen)) {
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			n = 4;
		} else {
			esc[0] = (char)p[i];
		}
		/* room for this, "..." and the NUL, or cut here */
		if (o + n + 4 > dstsz && i + 1 < srclen) {
			if (o + 4 <= dstsz) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (o + n + 1 > dstsz)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}
