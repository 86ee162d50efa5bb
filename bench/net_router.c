/*
 * bench/net_router.c: drives net-router's core (workers/net/primary.c) without the
 * daemon, inside a network namespace, as root. Used for the benchmark and by the
 * integration tests that must not depend on zk-election.
 *
 *   net_router bench [RUNS]   3 floating IPs + metadata + 10 gateways (7 IPv4,
 *                             3 IPv6): time takeover (all present + first
 *                             announcement sent) and relinquish; p50/p99/max
 *   net_router hold MS        host setup, take over with a lease of MS ms, refresh
 *                             until it lapses, then exit (kill -9 it to test the
 *                             lifetime fail-safe)
 *   net_router setup          host setup only (idempotence checks)
 *   net_router reconcile      host setup, start-up reconciliation; prints
 *                             "removed N"
 *   net_router gw MS ENTRY... host setup, the network list ENTRY... (as in
 *                             MSG_NET_NETWORKS), takeover; prints the ack
 *                             ("ack primary=P error=E msg=..."), holds MS ms
 *
 * Devices: cluster $BENCH_CLUSTER_DEV (ens4), storage $BENCH_STORAGE_DEV,
 * upstream $BENCH_UPSTREAM_DEV (both default to the cluster device); gateway bridges
 * vmbr100..vmbr109 are created. Addresses: $BENCH_NET (default 10.200.0) .254
 * floating, .$BENCH_ID own address; storage floating IP $BENCH_STORAGE_FLOAT in
 * $BENCH_STORAGE_NET (default 10.210.0.254/24), upstream 10.220.0.254/24, default
 * route via $BENCH_UPSTREAM_GW if set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include "config.h"
#include "log.h"
#include "pvc.h"
#include "net_host.h"
#include "net_primary.h"

#define NGW 10

static const char *env_or(const char *k, const char *d)
{
	const char *v = getenv(k);
	return v && v[0] ? v : d;
}

static int set_addr(struct cfg_addr *a, const char *text)
{
	char buf[64];
	char *slash;

	memset(a, 0, sizeof(*a));
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	a->prefix = -1;
	if (slash) {
		*slash = '\0';
		a->prefix = atoi(slash + 1);
	}
	a->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(a->family, buf, a->addr) != 1)
		return -1;
	a->set = 1;
	snprintf(a->text, sizeof(a->text), "%s", text);
	return 0;
}

static int make_cfg(struct pvc_config *cfg)
{
	const char *net = env_or("BENCH_NET", "10.200.0");
	const char *id = env_or("BENCH_ID", "1");
	const char *cdev = env_or("BENCH_CLUSTER_DEV", "ens4");
	char t[64];
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->enable_networking = 1;
	snprintf(cfg->if_cluster.device, sizeof(cfg->if_cluster.device), "%s", cdev);
	snprintf(cfg->if_storage.device, sizeof(cfg->if_storage.device), "%s",
		 env_or("BENCH_STORAGE_DEV", cdev));
	snprintf(cfg->if_upstream.device, sizeof(cfg->if_upstream.device), "%s",
		 env_or("BENCH_UPSTREAM_DEV", cdev));
	cfg->if_cluster.mtu = cfg->if_storage.mtu = cfg->if_upstream.mtu = 1500;
	snprintf(t, sizeof(t), "%s.0/24", net);
	rc |= set_addr(&cfg->cluster.network, t);
	snprintf(t, sizeof(t), "%s.%s/24", net, id);
	rc |= set_addr(&cfg->if_cluster.address, t);
	snprintf(t, sizeof(t), "%s.254/24", net);
	rc |= set_addr(&cfg->cluster.floating_ip, t);
	rc |= set_addr(&cfg->storage.network, env_or("BENCH_STORAGE_NET", "10.210.0.0/24"));
	rc |= set_addr(&cfg->storage.floating_ip, env_or("BENCH_STORAGE_FLOAT", "10.210.0.254/24"));
	rc |= set_addr(&cfg->upstream.network, "10.220.0.0/24");
	rc |= set_addr(&cfg->upstream.floating_ip, "10.220.0.254/24");
	if (getenv("BENCH_UPSTREAM_GW"))
		rc |= set_addr(&cfg->upstream.gateway, getenv("BENCH_UPSTREAM_GW"));
	return rc ? -1 : 0;
}

static int make_gateways(struct netp *p)
{
	char ent[NGW][96];
	const char *v[NGW];
	char err[256];
	int i;

	for (i = 0; i < NGW; i++) {
		char name[16];
		int idx;

		snprintf(name, sizeof(name), "vmbr%d", 100 + i);
		idx = net_host_bridge_ensure(&p->nl, name);
		if (idx < 0) {
			fprintf(stderr, "bridge %s: %s\n", name, strerror(-idx));
			return -1;
		}
		/* up, as a client network's bridge is: announcements need a running device */
		{
			_Alignas(4) char req[NL_MSG_MAX];
			size_t len = net_nlmsg_build_link_set(req, sizeof(req), 0, idx, 1, 0, -1);
			int rc = len ? net_netlink_request(&p->nl, req, len) : -EINVAL;
			if (rc != 0) {
				fprintf(stderr, "%s up: %s\n", name, strerror(-rc));
				return -1;
			}
		}
		if (i < 7)
			snprintf(ent[i], sizeof(ent[i]), "vni=%d gw4=10.%d.0.1/24 gw6=None",
				 100 + i, 100 + i);
		else
			snprintf(ent[i], sizeof(ent[i]), "vni=%d gw4=None gw6=fd00:%d::1/64",
				 100 + i, 100 + i);
		v[i] = ent[i];
	}
	if (net_primary_set_networks(p, v, NGW, err, sizeof(err)) != 0) {
		fprintf(stderr, "networks: %s\n", err);
		return -1;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* How many of the addresses we hold does the kernel show? */
static size_t count_present(struct netp *p)
{
	struct nl_addr *d;
	size_t n, i, j, found = 0;

	if (net_netlink_addr_dump(&p->nl, AF_UNSPEC, &d, &n) != 0)
		return 0;
	for (i = 0; i < p->nheld; i++)
		for (j = 0; j < n; j++)
			if (d[j].family == p->held[i].a.family &&
			    d[j].ifindex == p->held[i].a.ifindex &&
			    memcmp(d[j].addr, p->held[i].a.addr,
				   d[j].family == AF_INET ? 4 : 16) == 0) {
				found++;
				break;
			}
	free(d);
	return found;
}

static void report(const char *what, uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("%-10s runs=%d p50=%.3f ms p99=%.3f ms max=%.3f ms\n", what, n,
	       (double)v[n / 2] / 1e6, (double)v[(n * 99) / 100 - (n >= 100 ? 1 : 0)] / 1e6,
	       (double)v[n - 1] / 1e6);
}

static int bench(struct netp *p, int runs)
{
	uint64_t *tk = calloc((size_t)runs, sizeof(uint64_t));
	uint64_t *rl = calloc((size_t)runs, sizeof(uint64_t));
	char msg[256];
	size_t want = 0;
	int i, prim, bad = 0;

	if (!tk || !rl)
		return 1;
	for (i = 0; i < runs; i++) {
		uint64_t t0 = now_ns(), t1;
		int code = net_primary_takeover(p, mono_ms() + 5000, &prim, msg, sizeof(msg));
		t1 = now_ns();
		tk[i] = t1 - t0;
		if (code || !prim) {
			fprintf(stderr, "takeover %d: %s\n", i, msg);
			bad++;
		}
		if (i == 0)
			want = p->nheld;
		if (p->nheld != want || count_present(p) != want) {
			fprintf(stderr, "run %d: %zu of %zu addresses present\n", i,
				count_present(p), want);
			bad++;
		}
		t0 = now_ns();
		code = net_primary_relinquish(p, msg, sizeof(msg));
		rl[i] = now_ns() - t0;
		if (code) {
			fprintf(stderr, "relinquish %d: %s\n", i, msg);
			bad++;
		}
	}
	printf("addresses per takeover: %zu (3 floating, 1 metadata, %d gateways)\n", want, NGW);
	report("takeover", tk, runs);
	report("relinquish", rl, runs);
	free(tk);
	free(rl);
	return bad ? 1 : 0;
}

static int hold(struct netp *p, uint64_t ms, int strict)
{
	char msg[256];
	int prim, code;
	uint64_t lease = mono_ms() + ms;

	code = net_primary_takeover(p, lease, &prim, msg, sizeof(msg));
	printf("ack primary=%d error=%d msg=%s\n", prim, code, msg);
	if (strict && (code || !prim)) {
		fprintf(stderr, "takeover: %s\n", msg);
		return 1;
	}
	printf("holding %zu addresses until the lease lapses\n", p->nheld);
	fflush(stdout);
	for (;;) {
		uint64_t now = mono_ms();
		struct timespec ts;
		uint64_t d = net_primary_next_tick_ms(now, p->primary, p->lease_until_ms);

		ts.tv_sec = (time_t)(d / 1000);
		ts.tv_nsec = (long)(d % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		if (net_primary_tick(p, mono_ms()))
			break;
	}
	printf("lease lapsed, %zu addresses held\n", p->nheld);
	return 0;
}

int main(int argc, char **argv)
{
	static struct pvc_config cfg;
	static struct netp p;
	struct log_opts lo = {.dates = 0, .to_stdout = 0};
	char err[256];
	int rc;

	log_init("bench", &lo);
	if (argc < 2 || make_cfg(&cfg) != 0) {
		fprintf(stderr, "usage: %s bench [RUNS] | hold MS | setup | gw MS ENTRY...\n", argv[0]);
		return 2;
	}
	rc = net_primary_open(&p, &cfg);
	if (rc != 0) {
		fprintf(stderr, "sockets: %s (run as root inside a namespace)\n", strerror(-rc));
		return 1;
	}
	if (net_host_setup(&p.nl, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "host setup: %s\n", err);
		return 1;
	}
	if (strcmp(argv[1], "bench") == 0) {
		if (make_gateways(&p) != 0)
			return 1;
		return bench(&p, argc > 2 ? atoi(argv[2]) : 200);
	}
	if (strcmp(argv[1], "hold") == 0 && argc > 2)
		return hold(&p, (uint64_t)strtoull(argv[2], NULL, 10), 1);
	if (strcmp(argv[1], "setup") == 0)
		return 0;
	if (strcmp(argv[1], "reconcile") == 0) {
		rc = net_primary_reconcile(&p);
		printf("removed %d\n", rc);
		return rc < 0;
	}
	if (strcmp(argv[1], "gw") == 0 && argc > 2) {
		if (net_primary_set_networks(&p, (const char *const *)argv + 3, (uint32_t)(argc - 3), err,
					     sizeof(err)) != 0)
			printf("networks refused: %s\n", err);
		return hold(&p, (uint64_t)strtoull(argv[2], NULL, 10), 0);
	}
	fprintf(stderr, "usage: %s bench [RUNS] | hold MS | setup | gw MS ENTRY...\n", argv[0]);
	return 2;
}
