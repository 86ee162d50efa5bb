/*
 * error.c: the single error line of a failed load, and how values are quoted in it.
 *
 *     <file>:<line>:<col>: <key.path>: <what was expected, and the value found>
 *
 * Lines and columns are 1-based.
 */
#include <stdarg.h>
#include <stdio.h>

#include "config_int.h"

void config_error_at(struct ld *l, const yaml_mark_t *m, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (l->err && l->errlen) {
		if (m)
			snprintf(l->err, l->errlen, "%s:%zu:%zu: %s: %s", l->file,
				 (size_t)m->line + 1, (size_t)m->column + 1, path, msg);
		else
			snprintf(l->err, l->errlen, "%s: %s: %s", l->file, path, msg);
	}
}

/* Quote `len` bytes of `s` for an error message: printable ASCII as is, `"` and `\`
 * escaped, everything else as \xNN; long values are cut with "...". */
void config_error_show(char *out, size_t outsz, const char *s, size_t len)
{
	size_t o = 0, i;

	if (outsz == 0)
		return;
	for (i = 0; i < len && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t tl;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tl = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			tl = 1;
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			tl = 4;
		}
		if (o + tl + 4 >= outsz)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	if (i < len && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* "got ..." part of a message. */
void config_error_describe(const yaml_node_t *n, char *buf, size_t sz)
{
	char q[SHOW_MAX * 4 + 8];

	switch (n->type) {
	case YAML_MAPPING_NODE:
		snprintf(buf, sz, "a mapping");
		return;
	case YAML_SEQUENCE_NODE:
		snprintf(buf, sz, "a list");
		return;
	case YAML_SCALAR_NODE:
		if (is_plain(n) && scalar_len(n) == 0) {
			snprintf(buf, sz, "an empty value");
			return;
		}
		config_error_show(q, sizeof q, scalar_text(n), scalar_len(n));
		snprintf(buf, sz, "%s\"%s\"", is_plain(n) ? "" : "the quoted string ", q);
		return;
	default:
		snprintf(buf, sz, "nothing");
		return;
	}
}
