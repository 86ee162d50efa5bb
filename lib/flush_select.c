/*
 * flush_select.c: target selection for flush (ref §6.3). Pure: no I/O, no logging,
 * so the unit tests pin the exact choices the reference would make.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvc.h"
#include "flush_select.h"

/* Memory figures are MiB; anything beyond 2^40 MiB is garbage, not a big host. */
#define FSEL_MEM_MAX (1LL << 40)
/* The reference's "nothing found yet" sentinel for the minimum selectors. */
#define FSEL_SENTINEL 9999

static const char *const selectors[] = {"mem", "load", "vcpus", "vms"};

int flush_select_valid_selector(const char *s)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(selectors) / sizeof(selectors[0]); i++)
		if (strcmp(s, selectors[i]) == 0)
			return 1;
	return 0;
}

static const char *canonical_selector(const char *s)
{
	for (size_t i = 0; i < sizeof(selectors) / sizeof(selectors[0]); i++)
		if (strcmp(s, selectors[i]) == 0)
			return selectors[i];
	return NULL;
}

/* node_limit is comma-separated without spaces; empty entries do not count, and a
 * limit made only of empty entries is no limit at all (as the reference). */
static int limit_is_empty(const char *limit)
{
	for (const char *p = limit; *p; p++)
		if (*p != ',')
			return 0;
	return 1;
}

static int limit_contains(const char *limit, const char *name)
{
	size_t nl = strlen(name);
	const char *p = limit;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == nl && len > 0 && strncmp(p, name, nl) == 0)
			return 1;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

static int parse_count(const char *s, long long *out)
{
	return parse_ll(s, 0, FSEL_MEM_MAX, out);
}

/* cpuload is Python's str(float); accept any finite non-negative decimal. */
static int parse_load(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || *s == ' ')
		return -1;
	v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v) || v < 0.0)
		return -1;
	*out = v;
	return 0;
}

static void note_malformed(struct fsel_result *res, const char *node, const char *what)
{
	if (res->malformed++ == 0)
		snprintf(res->note, sizeof(res->note), "node %.63s: malformed or missing %s", node,
			 what);
}

/* The selector the VM asks for, else the configured default (then written back). */
static const char *choose_selector(const struct fsel_vm *vm, const char *default_selector,
				   struct fsel_result *res)
{
	const char *sel;

	if (vm->node_selector == NULL || strcmp(vm->node_selector, "None") == 0) {
		sel = canonical_selector(default_selector);
		res->write_node_selector = 1;
	} else if (flush_select_valid_selector(vm->node_selector)) {
		sel = canonical_selector(vm->node_selector);
	} else {
		/* The API only writes valid selectors; garbage would make the reference
		 * find no target and shut the VM down. Use the default instead and say so. */
		sel = canonical_selector(default_selector);
		snprintf(res->note, sizeof(res->note), "invalid node_selector, using %s", sel);
	}
	return sel;
}

static int is_candidate(const struct fsel_vm *vm, const char *limit, const struct fsel_node *nd)
{
	if (nd->name == NULL || !valid_node_name(nd->name))
		return 0;
	if (limit && !limit_contains(limit, nd->name))
		return 0;
	if (vm->node && strcmp(vm->node, nd->name) == 0)
		return 0;
	if (nd->daemonstate == NULL || strcmp(nd->daemonstate, "run") != 0)
		return 0;
	if (nd->domainstate == NULL || strcmp(nd->domainstate, "ready") != 0)
		return 0;
	return 1;
}

/* The running best over the candidates in child order: ties keep the first. */
struct best {
	long long ll;
	double load;
};

static void consider(const char *sel, const struct fsel_node *nd, size_t i, struct best *b,
		     struct fsel_result *res)
{
	long long used, freem, alloc, v;
	double load;

	if (strcmp(sel, "mem") == 0) {
		if (parse_count(nd->memused, &used) || parse_count(nd->memfree, &freem) ||
		    parse_count(nd->memalloc, &alloc)) {
			note_malformed(res, nd->name, "memused/memfree/memalloc");
			return;
		}
		v = used + freem - alloc;
		if (v > b->ll) {
			b->ll = v;
			res->target = (int)i;
		}
	} else if (strcmp(sel, "load") == 0) {
		if (parse_load(nd->cpuload, &load)) {
			note_malformed(res, nd->name, "cpuload");
			return;
		}
		if (load < b->load) {
			b->load = load;
			res->target = (int)i;
		}
	} else {
		const char *fig = strcmp(sel, "vcpus") == 0 ? nd->vcpualloc : nd->domainscount;
		if (parse_count(fig, &v)) {
			note_malformed(res, nd->name,
				       strcmp(sel, "vcpus") == 0 ? "vcpualloc" : "domainscount");
			return;
		}
		if (v < b->ll) {
			b->ll = v;
			res->target = (int)i;
		}
	}
}

int flush_select_choose(const struct fsel_vm *vm, const struct fsel_node *nodes, size_t n,
			const char *default_selector, struct fsel_result *res)
{
	const char *sel;
	const char *limit = vm ? vm->node_limit : NULL;
	struct best b = {0, (double)FSEL_SENTINEL};

	if (vm == NULL || res == NULL || (n > 0 && nodes == NULL) ||
	    !flush_select_valid_selector(default_selector))
		return -1;
	memset(res, 0, sizeof(*res));
	res->target = -1;
	sel = choose_selector(vm, default_selector, res);
	res->selector = sel;
	if (limit == NULL) {
		res->write_node_limit = 1;
		limit = "";
	}
	if (limit_is_empty(limit))
		limit = NULL;
	if (strcmp(sel, "mem") != 0)
		b.ll = FSEL_SENTINEL;
	for (size_t i = 0; i < n; i++)
		if (is_candidate(vm, limit, &nodes[i]))
			consider(sel, &nodes[i], i, &b, res);
	return 0;
}
