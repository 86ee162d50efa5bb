/*
 * fuzz_meta.c: libFuzzer target for the metadata API's parsers of untrusted bytes
 * (workers/meta/route.c): the request path of any VM (meta_route_parse) and a VM's
 * libvirt XML from ZooKeeper (meta_route_xml_macs, meta_route_mac). The input is
 * copied to a buffer of its exact size, so that AddressSanitizer sees any read past
 * the end. Checked: a known route; at most `max` MACs, each normalised
 * (aa:bb:cc:dd:ee:ff, lower case) and no two alike.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_mac(const char *m)
{
	check(strlen(m) == 17);
	for (int i = 0; i < 17; i++)
		check(i % 3 == 2 ? m[i] == ':' : (isxdigit((unsigned char)m[i]) && !isupper((unsigned char)m[i])));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	char macs[META_VM_MACS][META_MAC_MAX], one[META_MAC_MAX];
	enum meta_route r;
	int n;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	r = meta_route_parse(buf, size);
	check(r >= META_R_NOTFOUND && r <= META_R_USERDATA);
	if (r != META_R_NOTFOUND)
		check(size > 0 && buf[0] == '/' && memchr(buf, '\0', size) == NULL);
	n = meta_route_xml_macs(buf, size, macs, META_VM_MACS);
	check(n >= 0 && n <= META_VM_MACS);
	for (int i = 0; i < n; i++) {
		check_mac(macs[i]);
		for (int j = 0; j < i; j++)
			check(strcmp(macs[i], macs[j]) != 0);
	}
	if (meta_route_mac(buf, size, one) == 0)
		check_mac(one);
	free(buf);
	return 0;
}
