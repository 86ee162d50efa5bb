/*
 * fuzz_config.c: libFuzzer target for config_load() (supervisor/config/).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Iinclude -Ilib \
 *     fuzz/fuzz_config.c supervisor/config/[a-z]*.c lib/util.c -lyaml -o fuzz_config
 *   ./fuzz_config fuzz/corpus/config
 *
 * Each input is written to one memfd per process (reached as /proc/self/fd/N, so the
 * loader opens and reads it like a real file) and loaded with host name "pvchv1".
 * Besides the sanitizers, it checks the loader's contract: a failure gives exactly
 * one non-empty line that starts with the path; a success gives a config that
 * config_dump() and config_for_role() handle, with terminated strings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "pvc.h"

static int fd = -1;
static char path[64];
static FILE *devnull;

static void setup(void)
{
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pvc_config cfg, role_cfg;
	char err[1024];
	size_t off = 0;

	if (fd < 0)
		setup();
	if (ftruncate(fd, 0) < 0)
		abort();
	while (off < size) {
		ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}

	memset(err, 'X', sizeof err);
	if (config_load(path, "pvchv1", &cfg, err, sizeof err) < 0) {
		size_t n = strnlen(err, sizeof err);

		if (n == 0 || n == sizeof err || strchr(err, '\n') ||
		    strncmp(err, path, strlen(path)) != 0)
			abort();
		return 0;
	}
	if (err[0] != '\0' || strnlen(cfg.node_name, sizeof cfg.node_name) == sizeof cfg.node_name ||
	    cfg.coordinator_count < 1 || cfg.coordinator_count > CFG_MAX_COORDINATORS ||
	    strnlen(cfg.zk_hosts, sizeof cfg.zk_hosts) == 0 ||
	    strnlen(cfg.zk_hosts, sizeof cfg.zk_hosts) == sizeof cfg.zk_hosts ||
	    cfg.fence_intervals < 1 ||
	    (cfg.suicide_intervals != 0 && cfg.suicide_intervals >= cfg.fence_intervals) ||
	    cfg.hang_timeout_ms <= 2 * cfg.heartbeat_interval_ms)
		abort();
	config_dump(&cfg, devnull);
	for (int r = 0; r < ROLE_COUNT; r++) {
		config_for_role(&cfg, r, &role_cfg);
		if (r != ROLE_ZK && role_cfg.ipmi_pass[0])
			abort();
	}
	return 0;
}
