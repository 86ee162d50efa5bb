/*
 * map.c: mappings of the YAML document: their allowed keys (unknown keys get a
 * "did you mean" or "belongs under" hint, duplicates are refused) and key lookup.
 */
#include <stdio.h>

#include "config_int.h"

void config_map_path(char *out, size_t sz, const char *parent, const char *key)
{
	size_t o = 0;
	const char *parts[3] = { parent, ".", key };
	int i;

	if (sz == 0)
		return;
	for (i = (parent && parent[0]) ? 0 : 2; i < 3; i++) {
		size_t n = strlen(parts[i]);

		if (n > sz - 1 - o)
			n = sz - 1 - o;
		memcpy(out + o, parts[i], n);
		o += n;
	}
	out[o] = '\0';
}

/* Edit distance of two short strings (for "did you mean"); large values are capped. */
static int edit_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), i, j;
	int row[65];

	if (la > 64 || lb > 64)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (i = 1; i <= la; i++) {
		int prev = row[0];

		row[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			int cur = row[j];
			int best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* Keys that people put in the wrong place, with a hint. */
static const struct {
	const char *path;
	const char *hint;
} misplaced[] = {
	{ "pvc.system.fencing.intervals",
	  "the intervals belong under pvc.system.intervals (the reference daemon reads them there)" },
	{ "pvc.intervals", "the intervals belong under pvc.system.intervals" },
	{ "pvc.coordinators", "the coordinator list belongs under pvc.cluster.coordinators" },
	{ "pvc.zookeeper", "ZooKeeper settings belong under pvc.cluster.zookeeper" },
	{ "pvc.libvirt", "libvirt settings belong under pvc.system.libvirt" },
	{ "pvc.supervisor", "supervisor settings belong under pvc.system.supervisor" },
};

yaml_node_t *config_map_node(struct ld *l, int idx)
{
	return yaml_document_get_node(l->doc, idx);
}

static int key_known(const char *const *known, const char *ks, size_t kl)
{
	const char *const *kk;

	for (kk = known; *kk; kk++)
		if (strlen(*kk) == kl && memcmp(*kk, ks, kl) == 0)
			return 1;
	return 0;
}

/* The error for a key not in `known`: with a hint where the key belongs, else the
 * closest known key, else (at the top level) what the file must look like. */
static int unknown_key(struct ld *l, yaml_node_t *k, const char *path, const char *const *known)
{
	char shown[SHOW_MAX * 4 + 8], kpath[KEYPATH_MAX], hint[256] = "";
	const char *ks = scalar_text(k), *best = NULL;
	const char *const *kk;
	size_t kl = scalar_len(k), i;
	int bestd = 99;

	config_error_show(shown, sizeof shown, ks, kl);
	config_map_path(kpath, sizeof kpath, path, shown);
	for (i = 0; i < sizeof misplaced / sizeof misplaced[0]; i++)
		if (strcmp(kpath, misplaced[i].path) == 0)
			snprintf(hint, sizeof hint, "; %s", misplaced[i].hint);
	if (!hint[0]) {
		for (kk = known; *kk; kk++) {
			int d = edit_distance(ks, kl, *kk);

			if (d < bestd) {
				bestd = d;
				best = *kk;
			}
		}
		if (best && bestd <= 2 + (int)strlen(best) / 8)
			snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", best);
		else if (!path[0])
			snprintf(hint, sizeof hint,
				 "; the file must have the single top-level key \"pvc\"");
	}
	return err_node(l, k, kpath, "unknown key%s", hint);
}

/* The key of pair `p` must not appear among the pairs before it. */
static int duplicate_key(struct ld *l, yaml_node_t *n, yaml_node_pair_t *p, yaml_node_t *k,
			 const char *path)
{
	const char *ks = scalar_text(k);
	size_t kl = scalar_len(k);
	yaml_node_pair_t *q;

	for (q = n->data.mapping.pairs.start; q < p; q++) {
		yaml_node_t *k2 = config_map_node(l, q->key);

		if (k2 && k2->type == YAML_SCALAR_NODE && scalar_len(k2) == kl &&
		    memcmp(scalar_text(k2), ks, kl) == 0) {
			char kpath[KEYPATH_MAX];

			config_map_path(kpath, sizeof kpath, path, ks);
			return err_node(l, k, kpath, "duplicate key (first given at line %zu)",
					(size_t)k2->start_mark.line + 1);
		}
	}
	return 0;
}

int config_map_check(struct ld *l, yaml_node_t *n, const char *path, const char *const *known)
{
	yaml_node_pair_t *p;
	char got[SHOW_MAX * 4 + 32];

	if (n->type != YAML_MAPPING_NODE) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected a mapping, got %s", got);
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = config_map_node(l, p->key);

		if (!k)
			return err_node(l, n, path, "malformed mapping");
		if (k->type != YAML_SCALAR_NODE) {
			config_error_describe(k, got, sizeof got);
			return err_node(l, k, path, "expected a plain key name, got %s", got);
		}
		if (!key_known(known, scalar_text(k), scalar_len(k)))
			return unknown_key(l, k, path, known);
		TRY(duplicate_key(l, n, p, k, path));
	}
	return 0;
}

/* Value of `key` in mapping `map` (already checked), or NULL. */
static yaml_node_t *lookup(struct ld *l, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;
	size_t kl = strlen(key);

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = config_map_node(l, p->key);

		if (k && k->type == YAML_SCALAR_NODE && scalar_len(k) == kl &&
		    memcmp(scalar_text(k), key, kl) == 0)
			return config_map_node(l, p->value);
	}
	return NULL;
}

int config_map_get(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
		   yaml_node_t **out, char *path, size_t psz)
{
	yaml_node_t *v;

	config_map_path(path, psz, mpath, key);
	*out = NULL;
	if (!map) /* parent absent: only possible for optional parents */
		return req ? err_at(l, NULL, path, "missing required key") : 0;
	v = lookup(l, map, key);
	if (!v) {
		if (req)
			return err_node(l, map, path, "missing required key");
		return 0;
	}
	*out = v;
	return 1;
}

int config_map_need(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		    yaml_node_t **out, char *path, size_t psz)
{
	int r = config_map_get(l, map, mpath, key, 1, out, path, psz);

	if (r < 0)
		return -1;
	if (r == 0 || !*out)
		return err_at(l, map ? &map->start_mark : NULL, path, "missing required key");
	return 0;
}
