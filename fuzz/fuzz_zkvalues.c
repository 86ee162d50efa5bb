/*
 * fuzz_zkvalues.c: libFuzzer target for the validators of untrusted ZooKeeper and
 * IPC values (workers/zk/values.c) and the request API policy (lib/policy.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Iinclude \
 *     fuzz/fuzz_zkvalues.c workers/zk/values.c lib/policy.c lib/util.c -lm \
 *     -Iipc -Ilib -Iworkers/zk -o fuzz_zkvalues
 *   ./fuzz_zkvalues fuzz/corpus/zkvalues
 *
 * The input is split at newlines into up to 5 fields (op, path, value, self, text)
 * that go through every function. Besides the sanitizers it checks contracts:
 * accepted floats print in Python form and read back to the same double; a node
 * name accepted is also a valid primary value; contender sequences are in range;
 * a write the policy allows has a valid path and, for setv, a version >= 0.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zk_values.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *f[5] = {"", "", "", "", ""};
	int nf = 0;
	double d;
	long long ll;
	uint32_t seq;
	struct zk_values_mem mem;
	char out[64];
	int version;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	f[nf++] = buf;
	for (char *p = buf; *p && nf < 5; p++)
		if (*p == '\n') {
			*p = '\0';
			f[nf++] = p + 1;
		}
	for (int i = 0; i < nf; i++) {
		const char *s = f[i];
		(void)zk_values_daemonstate(s);
		(void)zk_values_routerstate(s);
		(void)zk_values_domainstate(s);
		(void)zk_values_vmstate(s);
		(void)zk_values_selector(s);
		(void)zk_values_pybool(s);
		if (zk_values_node_name(s))
			check(zk_values_primary(s) && zk_values_opt_node_name(s) && zk_values_node_list(s));
		(void)zk_values_uuid(s);
		if (zk_values_uuid(s))
			check(zk_values_uuid_list(s));
		(void)zk_values_strtobool(s);
		(void)zk_values_int(s, -1000, 1000, &ll);
		if (zk_values_float(s, &d) == 0) {
			check(isfinite(d));
			check(zk_values_pyfloat(d, out, sizeof(out)) == 0);
			check(strtod(out, NULL) == d);
			check(strchr(out, '.') || strchr(out, 'e'));
		}
		if (zk_values_contender(s, &seq) != 0)
			check(strlen(s) >= 50);
		(void)zk_values_path(s);
		(void)zk_values_meminfo(s, &mem);
		(void)zk_values_loadavg(s, &d);
		for (int role = 0; role < 7; role++)
			(void)zk_values_policy_read(role, s);
	}
	for (int role = 0; role < 7; role++)
		if (zk_values_policy_write(role, f[3], f[0], f[1], f[2], &version)) {
			check(zk_values_path(f[1]));
			check(version >= -1);
			if (strncmp(f[0], "setv:", 5) == 0)
				check(version >= 0);
			else
				check(version == -1);
		}
	free(buf);
	return 0;
}
