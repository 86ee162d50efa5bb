/*
 * stats.c: vm-manager's figures. MSG_VM_STATS carries what zk-election writes at
 * its next keepalive (memory and vCPUs allocated, the running list in start
 * order); the worker status and a warning name the libvirt domains not managed
 * here. Sent when something changed, and after each keepalive's listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vm_domain.h"

#define NAMED_MAX 8 /* domains named in the status; the rest is "..." */

struct figures {
	struct vm_rec **run;
	size_t nrun, busy, unknown, conflicts;
	unsigned long long mem, vcpu;
	char unk[512], conf[512];
};

static int by_run_order(const void *a, const void *b)
{
	const struct vm_rec *x = *(struct vm_rec *const *)a, *y = *(struct vm_rec *const *)b;

	return x->run_order < y->run_order ? -1 : x->run_order > y->run_order;
}

static void name_add(char *list, size_t len, const char *uuid)
{
	strncat(list, list[0] ? "," : "", len - strlen(list) - 1);
	strncat(list, uuid, len - strlen(list) - 1);
}

static void collect(struct vmm *m, struct figures *f)
{
	for (size_t i = 0; i < m->nrecs; i++) {
		struct vm_rec *r = m->recs[i];
		if (r->act != VA_NONE)
			f->busy++;
		if (r->lv == LV_ABSENT)
			continue;
		if (!r->known) {
			if (m->synced && f->unknown++ < NAMED_MAX)
				name_add(f->unk, sizeof(f->unk), r->uuid);
			continue;
		}
		f->run[f->nrun++] = r;
		f->mem += r->mem_kib / 1024;
		f->vcpu += r->vcpus;
		/* migrate and shutdown are a sender's legitimate states, not conflicts */
		if (!vm_record_owner(m, r) && strcmp(r->state, "migrate") != 0 &&
		    strcmp(r->state, "shutdown") != 0 && f->conflicts++ < NAMED_MAX)
			name_add(f->conf, sizeof(f->conf), r->uuid);
	}
	qsort(f->run, f->nrun, sizeof(*f->run), by_run_order);
}

static void send_figures(struct vmm *m, const struct figures *f)
{
	/* the running list as one space-separated string */
	size_t len = 0;
	char *list = malloc(f->nrun * VLV_UUID_LEN + 1);
	char a[32], b[32], c[32];

	if (list == NULL)
		return;
	list[0] = '\0';
	for (size_t i = 0; i < f->nrun; i++) {
		memcpy(list + len, f->run[i]->uuid, 36);
		len += 36;
		if (i + 1 < f->nrun)
			list[len++] = ' ';
	}
	list[len] = '\0';
	snprintf(a, sizeof(a), "%llu", f->mem);
	snprintf(b, sizeof(b), "%llu", f->vcpu);
	snprintf(c, sizeof(c), "%zu", f->nrun);
	{
		const char *v[4] = {a, b, c, list};
		if (m->synced)
			(void)worker_send_strv(m->w, MSG_VM_STATS, ROLE_ZK, v, 4);
	}
	free(list);
}

/* The worker status and the warning, each only when it changed. */
static void send_status(struct vmm *m, const struct figures *f)
{
	char srun[32], sbusy[32], s_unk[560], s_conf[560], s_lv[40], s_n[40];
	char joined[sizeof(m->last_status)];

	snprintf(srun, sizeof(srun), "vms_running=%zu", f->nrun);
	snprintf(sbusy, sizeof(sbusy), "busy=%zu", f->busy);
	snprintf(s_unk, sizeof(s_unk), "unknown_domains=%s%s", f->unk,
		 f->unknown > NAMED_MAX ? ",..." : "");
	snprintf(s_conf, sizeof(s_conf), "conflicts=%s%s", f->conf,
		 f->conflicts > NAMED_MAX ? ",..." : "");
	snprintf(s_lv, sizeof(s_lv), "libvirt=%s", m->reconnecting ? "reconnecting" : "connected");
	snprintf(s_n, sizeof(s_n), "vms_known=%zu", m->nrecs - f->unknown);
	const char *kv[6] = {srun, sbusy, s_lv, s_unk, s_conf, s_n};
	snprintf(joined, sizeof(joined), "%s|%s|%s|%s|%s|%s", kv[0], kv[1], kv[2], kv[3], kv[4], kv[5]);
	if (strcmp(joined, m->last_status) != 0) {
		strlcpy_pvc(m->last_status, joined, sizeof(m->last_status));
		(void)worker_status(m->w, kv, 6);
	}
	snprintf(joined, sizeof(joined), "%s|%s", f->unk, f->conf);
	if (strcmp(joined, m->last_foreign) != 0) {
		strlcpy_pvc(m->last_foreign, joined, sizeof(m->last_foreign));
		if (f->unknown || f->conflicts)
			log_warnx("libvirt domains not managed here: unknown to PVC [%s], "
				  "owned by another node [%s]", f->unk, f->conf);
	}
}

void vm_stats_send(struct vmm *m)
{
	struct figures f;

	memset(&f, 0, sizeof(f));
	f.run = calloc(m->nrecs + 1, sizeof(*f.run));
	if (f.run == NULL)
		return;
	collect(m, &f);
	send_figures(m, &f);
	free(f.run);
	send_status(m, &f);
}
