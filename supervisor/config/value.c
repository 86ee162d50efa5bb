/*
 * value.c: one value of a given kind (boolean, decimal integer, string, interface
 * name, directory, word from a set, URI template), checked and converted. Each
 * returns 0, or -1 with the error written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "config_int.h"

int config_value_bool(struct ld *l, yaml_node_t *n, const char *path, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	char got[SHOW_MAX * 4 + 32];
	size_t i;

	if (is_plain(n) && strlen(scalar_text(n)) == scalar_len(n)) {
		const char *s = scalar_text(n);

		for (i = 0; i < 3; i++) {
			if (strcasecmp(s, yes[i]) == 0) {
				*out = 1;
				return 0;
			}
			if (strcasecmp(s, no[i]) == 0) {
				*out = 0;
				return 0;
			}
		}
	}
	config_error_describe(n, got, sizeof got);
	return err_node(l, n, path, "expected a boolean (true/false, yes/no, on/off), got %s", got);
}

/* Decimal integer syntax: optional '-', digits, no '+', '_', '0x', exponent or
 * fraction. Returns -1 if not an integer, 1 if it has too many digits for any range,
 * else 0; *leading_zero is set for "007" (YAML 1.1 would read 010 as octal 8). */
static int dec_syntax(const char *s, size_t len, int *leading_zero)
{
	size_t i = (len > 0 && s[0] == '-') ? 1 : 0, j;

	*leading_zero = 0;
	if (i >= len)
		return -1;
	for (j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return -1;
	if (s[i] == '0' && len - i > 1)
		*leading_zero = 1;
	return len - i > 18 ? 1 : 0;
}

int config_value_int(struct ld *l, yaml_node_t *n, const char *path, long long min,
		     long long max, const char *why, int *out)
{
	char got[SHOW_MAX * 4 + 32];
	const char *s;
	size_t len;
	int lz, r;
	long long v;

	if (!is_plain(n))
		goto bad;
	s = scalar_text(n);
	len = scalar_len(n);
	r = dec_syntax(s, len, &lz);
	if (r < 0)
		goto bad;
	if (lz) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path,
				"expected a decimal integer from %lld to %lld without leading "
				"zeros (YAML reads them as octal), got %s",
				min, max, got);
	}
	if (r > 0) { /* too many digits for any range */
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an integer from %lld to %lld, got %s%s", min,
				max, got, why ? why : "");
	}
	v = strtoll(s, NULL, 10);
	if (v < min || v > max) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an integer from %lld to %lld, got %lld%s", min,
				max, v, why ? why : "");
	}
	*out = (int)v;
	return 0;
bad:
	config_error_describe(n, got, sizeof got);
	return err_node(l, n, path, "expected an integer from %lld to %lld, got %s", min, max, got);
}

int config_value_str(struct ld *l, yaml_node_t *n, const char *path, unsigned flags, char *out,
		     size_t outsz)
{
	char got[SHOW_MAX * 4 + 32];
	const char *s;
	size_t len, i;

	if (n->type != YAML_SCALAR_NODE) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected a string, got %s", got);
	}
	s = scalar_text(n);
	len = scalar_len(n);
	if ((flags & S_NULL_EMPTY) && is_null(n)) {
		s = "";
		len = 0;
	}
	if (len == 0 && (flags & S_NONEMPTY))
		return err_node(l, n, path, "expected a non-empty string, got an empty value");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			config_error_describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected a string without control characters, got %s",
					got);
		}
	}
	if (len >= outsz) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected at most %zu characters, got %zu: %s",
				outsz - 1, len, got);
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* Linux interface name: 1..15 characters of [A-Za-z0-9._-], not "." or "..". */
int config_value_ifname(struct ld *l, yaml_node_t *n, const char *path,
			char out[CFG_IFNAME_MAX])
{
	char got[SHOW_MAX * 4 + 32];
	const char *s;
	size_t len, i;

	if (n->type != YAML_SCALAR_NODE)
		goto bad;
	s = scalar_text(n);
	len = scalar_len(n);
	if (len < 1 || len > CFG_IFNAME_MAX - 1 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		goto bad;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			goto bad;
	}
	memcpy(out, s, len + 1);
	return 0;
bad:
	config_error_describe(n, got, sizeof got);
	return err_node(l, n, path,
			"expected a network device name of 1 to %d characters from "
			"[A-Za-z0-9._-], got %s",
			CFG_IFNAME_MAX - 1, got);
}

/* An absolute directory; trailing slashes are dropped ("/" stays). */
int config_value_dir(struct ld *l, yaml_node_t *n, const char *path, char out[CFG_PATH_MAX])
{
	char got[SHOW_MAX * 4 + 32], tmp[CFG_PATH_MAX];
	size_t len;
	/* room for the derived sub-paths (<dir>/dnsmasq/<vni>/..., <dir>/pvc.log) */
	const size_t maxlen = CFG_PATH_MAX - 64;

	TRY(config_value_str(l, n, path, S_NONEMPTY, tmp, sizeof tmp));
	if (tmp[0] != '/') {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an absolute path (starting with /), got %s", got);
	}
	len = strlen(tmp);
	while (len > 1 && tmp[len - 1] == '/')
		tmp[--len] = '\0';
	if (len > maxlen) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an absolute path of at most %zu characters, got %s",
				maxlen, got);
	}
	memcpy(out, tmp, len + 1);
	return 0;
}

/* One of a fixed set of words; stored as listed in `canon` (same index). */
int config_value_choice(struct ld *l, yaml_node_t *n, const char *path, const char *const *words,
			const char *const *canon, const char *expect, char *out, size_t outsz)
{
	char got[SHOW_MAX * 4 + 32];
	size_t i;

	if (n->type == YAML_SCALAR_NODE) {
		for (i = 0; words[i]; i++) {
			if (scalar_is(n, words[i])) {
				if (copy_str(out, outsz, canon[i]) < 0)
					break;
				return 0;
			}
		}
	}
	config_error_describe(n, got, sizeof got);
	return err_node(l, n, path, "expected %s, got %s", expect, got);
}

/* A URI template that may contain the placeholders {node} and {domain} only. */
int config_value_uri(struct ld *l, yaml_node_t *n, const char *path, char *out, size_t outsz)
{
	const char *p;

	TRY(config_value_str(l, n, path, S_NONEMPTY, out, outsz));
	for (p = out; *p; p++) {
		if (*p == ' ')
			return err_node(l, n, path, "expected a URI without spaces, got \"%s\"", out);
		if (*p == '{') {
			if (strncmp(p, "{node}", 6) == 0)
				p += 5;
			else if (strncmp(p, "{domain}", 8) == 0)
				p += 7;
			else
				return err_node(l, n, path,
						"unknown placeholder at \"%.20s\": only {node} and "
						"{domain} are substituted",
						p);
		} else if (*p == '}') {
			return err_node(l, n, path, "unbalanced \"}\" in \"%s\"", out);
		}
	}
	return 0;
}
