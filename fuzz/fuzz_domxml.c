/*
 * fuzz_domxml.c: libFuzzer target for the strict domain XML policy (lib/domxml.c).
 *
 * The first byte picks the rules (bit 0: a console_log_directory or none); the rest
 * is the XML. Checked: no crash or sanitizer finding, a refusal always carries a
 * reason starting "xml_policy strict: " with no control byte in it, the verdict is
 * the same on a second run and with a tiny reason buffer, and an accepted XML stays
 * accepted when a comment is appended (comments hide nothing and add nothing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domxml.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domxml_rules rules = {.console_dir = NULL};
	char why[512], tiny[4];
	const char *xml;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	if (data[0] & 1)
		rules.console_dir = "/var/log/libvirt";
	xml = (const char *)data + 1;
	len = size - 1;
	rc = domxml_check(xml, len, &rules, why, sizeof(why));
	check(rc == 0 || rc == -1);
	check(memchr(why, '\0', sizeof(why)) != NULL);
	if (rc != 0) {
		check(strncmp(why, "xml_policy strict: ", 19) == 0);
		for (const char *c = why; *c; c++)
			check((unsigned char)*c >= 0x20 && *c != 0x7f);
	} else {
		check(why[0] == '\0');
	}
	check(domxml_check(xml, len, &rules, tiny, sizeof(tiny)) == rc);
	check(tiny[sizeof(tiny) - 1] == '\0' || memchr(tiny, '\0', sizeof(tiny)) != NULL);
	if (rc == 0) {
		char *more = malloc(len + 16);
		if (more == NULL)
			return 0;
		memcpy(more, xml, len);
		memcpy(more + len, "<!-- x -->", 10);
		check(domxml_check(more, len + 10, &rules, NULL, 0) == 0);
		free(more);
	}
	return 0;
}
