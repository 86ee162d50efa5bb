/*
 * mkcorpus_ipc.c: writes the seed corpus of fuzz_ipc (fuzz/corpus/ipc/): valid
 * frames of every payload kind, a stream of several frames and a frame with the
 * fd flag. Sizes come from the real headers, so the seeds follow the catalogue.
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -Iipc -I/usr/include/zookeeper \
 *      fuzz/mkcorpus_ipc.c ipc/frame.c ipc/strv.c lib/util.c lib/log.c \
 *      -o /tmp/mkcorpus && /tmp/mkcorpus fuzz/corpus/ipc
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ipc.h"

static uint8_t stream[1 << 16];
static size_t slen;

static size_t frame(uint8_t *out, uint32_t type, uint8_t sender, uint8_t dest, uint16_t flags,
		    const void *data, uint32_t len)
{
	uint32_t seq = 7;

	memcpy(out, &type, 4);
	memcpy(out + 4, &len, 4);
	memcpy(out + 8, &seq, 4);
	out[12] = sender;
	out[13] = dest;
	memcpy(out + 14, &flags, 2);
	if (len)
		memcpy(out + 16, data, len);
	return 16 + (size_t)len;
}

static void put(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void seed(const char *dir, const char *name, uint32_t type, uint8_t s, uint8_t d,
		 uint16_t flags, const void *data, size_t len)
{
	static uint8_t buf[1 << 14];
	size_t n = frame(buf, type, s, d, flags, data, (uint32_t)len);

	put(dir, name, buf, n);
	if (slen + n <= sizeof(stream) && n < 2048) {
		memcpy(stream + slen, buf, n);
		slen += n;
	}
}

static void seed_strv(const char *dir, const char *name, uint32_t type, uint8_t s, uint8_t d,
		      const char *const *v, uint32_t n)
{
	struct ipc_strv_buf b;
	const uint8_t *p;
	size_t len;

	strvb_init(&b);
	for (uint32_t i = 0; i < n; i++)
		strvb_add(&b, v[i]);
	p = strvb_finish(&b, &len);
	if (p == NULL)
		exit(1);
	seed(dir, name, type, s, d, 0, p, len);
	strvb_free(&b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "fuzz/corpus/ipc";
	struct ipc_u64 u = {42};
	struct ipc_zk_session zs = {.client_id = 0x1234, .valid = 1};
	struct ipc_net_cmd nc = {.epoch = 3, .lease_until_ms = 123456};
	struct ipc_net_ack na = {.epoch = 3, .primary = 1};
	struct ipc_shutdown sd = {.phase = 1};
	static struct pvc_config cfg;
	const char *logv[] = {"i", "", "hello"};
	const char *dom[] = {"0b6c6c5e-4b52-4f6e-9d6e-2f3f3c1a0b11", "vm1", "start", "hv1", "", "3"};
	const char *wr[] = {"r1", "setv:4", "/domains/x/state", "stop", "delete", "/a", ""};
	const char *empty[] = {""};

	strcpy(cfg.node_name, "hv1");
	seed(dir, "config", MSG_CONFIG, ROLE_SUPERVISOR, ROLE_ZK, 0, &cfg, sizeof(cfg));
	seed(dir, "ready", MSG_READY, ROLE_VM, ROLE_SUPERVISOR, 0, NULL, 0);
	seed(dir, "ping", MSG_PING, ROLE_SUPERVISOR, ROLE_NET, 0, &u, sizeof(u));
	seed(dir, "zk_session", MSG_ZK_SESSION, ROLE_ZK, ROLE_SUPERVISOR, 0, &zs, sizeof(zs));
	seed(dir, "net_takeover", MSG_NET_TAKEOVER, ROLE_ZK, ROLE_NET, 0, &nc, sizeof(nc));
	seed(dir, "net_ack", MSG_NET_ACK, ROLE_NET, ROLE_ZK, 0, &na, sizeof(na));
	seed(dir, "shutdown", MSG_SHUTDOWN, ROLE_SUPERVISOR, ROLE_FLUSH, 0, &sd, sizeof(sd));
	seed(dir, "fdflag", MSG_READY, ROLE_FLUSH, ROLE_SUPERVISOR, IPC_F_FD, NULL, 0);
	seed_strv(dir, "log", MSG_LOG, ROLE_VM, ROLE_SUPERVISOR, logv, 3);
	seed_strv(dir, "vm_domain", MSG_VM_DOMAIN, ROLE_ZK, ROLE_VM, dom, 6);
	seed_strv(dir, "zk_write", MSG_ZK_WRITE, ROLE_FLUSH, ROLE_ZK, wr, 7);
	seed_strv(dir, "strv_empty_string", MSG_ZK_REPLY, ROLE_ZK, ROLE_CTL, empty, 1);
	seed_strv(dir, "strv_none", MSG_STATUS, ROLE_NET, ROLE_SUPERVISOR, NULL, 0);
	put(dir, "stream", stream, slen);
	return 0;
}
