/*
 * fuzz_netdef.c: libFuzzer target for the client network codec (workers/netdef.c).
 *
 * The first byte picks the mode:
 *   even: the rest is a MSG_NET_NETWORKS payload (STRV bytes) -> netdef_decode;
 *         every decoded definition must validate again and survive an
 *         encode/decode round trip unchanged in count
 *   odd:  the rest is split at newlines into key, value, then repeated
 *         (key, value) pairs for netdef_set_key, "res"/"acl" lines for the
 *         reservation and ACL adders; then netdef_validate; a valid result must
 *         encode and decode to exactly one definition.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "netdef.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

static void roundtrip(const struct netdef *d, size_t n)
{
	struct ipc_strv_buf b;
	struct ipc_strv sv;
	struct netdef *out;
	const uint8_t *p;
	const char *err;
	size_t len, m;

	strvb_init(&b);
	for (size_t i = 0; i < n; i++)
		check(netdef_encode(&d[i], &b) == 0);
	p = strvb_finish(&b, &len);
	check(p != NULL);
	check(ipc_strv_decode(p, len, &sv, &err) == 0);
	check(netdef_decode(&sv, &out, &m, NULL, NULL) == 0);
	check(m == n);
	for (size_t i = 0; i < m; i++) {
		check(out[i].vni == d[i].vni && out[i].nres == d[i].nres &&
		      out[i].nacl_in == d[i].nacl_in && out[i].nacl_out == d[i].nacl_out);
		check(strcmp(out[i].net4.text, d[i].net4.text) == 0);
	}
	netdef_free_all(out, m);
	ipc_strv_free(&sv);
	strvb_free(&b);
}

static void on_skip(uint32_t vni, const char *why, void *arg)
{
	(void)vni;
	(void)arg;
	check(why != NULL && why[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		struct ipc_strv sv;
		struct netdef *out;
		const char *err;
		size_t n;
		char e[256];

		if (ipc_strv_decode(data + 1, size - 1, &sv, &err) != 0)
			return 0;
		if (netdef_decode(&sv, &out, &n, on_skip, NULL) == 0) {
			for (size_t i = 0; i < n; i++) {
				char br[16], ln[16];
				check(netdef_validate(&out[i], e, sizeof(e)) == 0);
				netdef_ifnames(&out[i], br, ln);
			}
			roundtrip(out, n);
			netdef_free_all(out, n);
		}
		ipc_strv_free(&sv);
		return 0;
	}

	char *buf = malloc(size), *f[64];
	int nf = 0;
	struct netdef d;
	char e[320];

	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	f[nf++] = buf;
	for (char *p = buf; *p && nf < 64; p++)
		if (*p == '\n') {
			*p = '\0';
			f[nf++] = p + 1;
		}
	netdef_init(&d, (uint32_t)(data[0] >> 1) * 65537u);
	for (int i = 0; i + 1 < nf; i += 2) {
		if (strcmp(f[i], "res") == 0 && i + 3 < nf) {
			(void)netdef_add_res(&d, f[i + 1], f[i + 2], f[i + 3], e, sizeof(e));
			i += 2;
		} else if (strncmp(f[i], "acl", 3) == 0 && i + 3 < nf) {
			(void)netdef_add_acl(&d, f[i][3] == 'o', f[i + 1], f[i + 2], f[i + 3], e,
					     sizeof(e));
			i += 2;
		} else if (netdef_set_key(&d, f[i], f[i + 1], e, sizeof(e)) != 0) {
			check(e[0] != '\0');
		}
	}
	if (netdef_validate(&d, e, sizeof(e)) == 0)
		roundtrip(&d, 1);
	netdef_clear(&d);
	free(buf);
	return 0;
}
