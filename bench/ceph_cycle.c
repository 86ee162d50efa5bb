/*
 * ceph_cycle.c: how long one statistics cycle of the ceph worker takes against a real
 * cluster (driven by bench/ceph_cycle.sh, which starts a single-host Ceph 16).
 *
 *   ceph_cycle CONF KEYRING RUNS POOL [OSD...]
 *
 * Runs the rados thread's job (workers/ceph/statjob.c) RUNS times as the primary
 * (status, df, pool statistics, rados df) with the given OSDs as this node's, over
 * one connected client, and prints min / median / p90 / max in ms and the bytes it
 * would write. Prints figures, not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceph_int.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct ceph_rados r;
	uint64_t *t;
	size_t bytes = 0;
	int runs, nvalues = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: %s CONF KEYRING RUNS POOL [OSD...]\n", argv[0]);
		return 2;
	}
	runs = atoi(argv[3]);
	if (runs < 1 || runs > 100000)
		return 2;
	memset(&r, 0, sizeof(r));
	snprintf(r.conf, sizeof(r.conf), "%s", argv[1]);
	snprintf(r.keyring, sizeof(r.keyring), "%s", argv[2]);
	snprintf(r.client, sizeof(r.client), "client.admin");
	t = calloc((size_t)runs, sizeof(*t));
	if (t == NULL)
		return 1;
	{
		char err[512];
		uint64_t t0 = mono_ms();
		if (ceph_client_connect(&r, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("connect: %llu ms\n", (unsigned long long)(mono_ms() - t0));
	}
	for (int i = 0; i < runs; i++) {
		struct ceph_job *j = calloc(1, sizeof(*j));
		if (j == NULL)
			return 1;
		j->kind = CEPH_JOB_STATS;
		j->primary = 1;
		snprintf(j->pools[j->npools++], sizeof(j->pools[0]), "%s", argv[4]);
		for (int k = 5; k < argc && j->nosds < CEPH_OSDS_MAX; k++)
			j->osds[j->nosds++] = atoi(argv[k]);
		uint64_t t0 = mono_ms();
		if (ceph_statjob_run(&r, j) != 0) {
			fprintf(stderr, "cycle %d failed: %s\n", i, j->err);
			return 1;
		}
		t[i] = mono_ms() - t0;
		if (i == 0) {
			nvalues = j->nkv;
			for (int k = 0; k < j->nkv; k++)
				bytes += strlen(j->kv[k].value);
		}
		ceph_rados_job_free(j);
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_u64);
	printf("ceph worker statistics cycle (%d runs, %d values, %zu bytes): min %llu ms, "
	       "median %llu ms, p90 %llu ms, max %llu ms\n",
	       runs, nvalues, bytes, (unsigned long long)t[0],
	       (unsigned long long)t[runs / 2], (unsigned long long)t[runs * 9 / 10],
	       (unsigned long long)t[runs - 1]);
	ceph_client_disconnect(&r);
	free(t);
	return 0;
}
