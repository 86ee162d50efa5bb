/*
 * config_int.h: what the files of supervisor/config/ share: the loader state, error
 * reporting, and the field readers the section files (identity.c, cluster.c,
 * coordinator.c, system.c, configuration.c) are written with. Not for the rest of
 * the daemon: include/config.h is the public interface.
 *
 * The readers only descend into mappings the schema knows, so anchors, aliases
 * (even cyclic ones) and deep nesting cannot make a load loop or overflow the stack.
 */
#ifndef CONFIG_INT_H
#define CONFIG_INT_H

#include <stddef.h>
#include <string.h>
#include <yaml.h>

#include "config.h"

#define KEYPATH_MAX 320
#define SHOW_MAX 48 /* bytes of a value quoted in an error message */

/* Loader state: one per config_load() call (no global mutable state). */
struct ld {
	yaml_document_t *doc;
	const char *file;
	char *err;
	size_t errlen;
};

#define TRY(x)                          \
	do {                            \
		if ((x) < 0)            \
			return -1;      \
	} while (0)

/* ---- error.c: error reporting --------------------------------------------- */

void config_error_at(struct ld *l, const yaml_mark_t *m, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void config_error_show(char *out, size_t outsz, const char *s, size_t len);
void config_error_describe(const yaml_node_t *n, char *buf, size_t sz);

/* Both evaluate to -1, so that `return err_at(...)` fails the caller. */
#define err_at(l, m, path, ...) (config_error_at((l), (m), (path), __VA_ARGS__), -1)
#define err_node(l, n, path, ...) err_at((l), &(n)->start_mark, (path), __VA_ARGS__)

/* ---- scalars ----------------------------------------------------------------- */

static inline const char *scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static inline size_t scalar_len(const yaml_node_t *n)
{
	return n->data.scalar.length;
}

/* Scalar whose whole text is `word` (no embedded NUL tricks). */
static inline int scalar_is(const yaml_node_t *n, const char *word)
{
	return n->type == YAML_SCALAR_NODE && scalar_len(n) == strlen(word) &&
	       memcmp(scalar_text(n), word, scalar_len(n)) == 0;
}

static inline int is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
		n->data.scalar.style == YAML_ANY_SCALAR_STYLE);
}

/* Plain scalars that YAML (and the reference's loader) read as null. */
static inline int is_null(const yaml_node_t *n)
{
	if (!is_plain(n))
		return 0;
	return scalar_len(n) == 0 || scalar_is(n, "~") || scalar_is(n, "null") ||
	       scalar_is(n, "Null") || scalar_is(n, "NULL");
}

static inline int copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* ---- map.c: mappings and key lookup ------------------------------------------ */

/* out = parent "." key (or just key); silently truncated to sz - 1 bytes. */
void config_map_path(char *out, size_t sz, const char *parent, const char *key);
yaml_node_t *config_map_node(struct ld *l, int idx);
/* Check that `n` is a mapping whose keys are unique plain strings from `known`. */
int config_map_check(struct ld *l, yaml_node_t *n, const char *path, const char *const *known);
/*
 * Find `key` in `map` (path `mpath`; map may be NULL = absent optional parent).
 * Writes the key's path to `path`. Returns 1 if present (*out set), 0 if absent
 * (an error if `req`), -1 on error.
 */
int config_map_get(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
		   yaml_node_t **out, char *path, size_t psz);
/* A required key: like config_map_get() with req = 1, but *out is non-NULL on success. */
int config_map_need(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		    yaml_node_t **out, char *path, size_t psz);

/* ---- value.c: one value of a given kind (0 ok, -1 error written) ------------- */

#define S_NONEMPTY 1u /* empty / null refused */
#define S_NULL_EMPTY 2u /* YAML null (~, null, empty) reads as "" */

int config_value_bool(struct ld *l, yaml_node_t *n, const char *path, int *out);
/* `why` (may be NULL) is appended to the out-of-range message. */
int config_value_int(struct ld *l, yaml_node_t *n, const char *path, long long min,
		     long long max, const char *why, int *out);
int config_value_str(struct ld *l, yaml_node_t *n, const char *path, unsigned flags, char *out,
		     size_t outsz);
int config_value_ifname(struct ld *l, yaml_node_t *n, const char *path,
			char out[CFG_IFNAME_MAX]);
int config_value_dir(struct ld *l, yaml_node_t *n, const char *path, char out[CFG_PATH_MAX]);
int config_value_choice(struct ld *l, yaml_node_t *n, const char *path, const char *const *words,
			const char *const *canon, const char *expect, char *out, size_t outsz);
int config_value_uri(struct ld *l, yaml_node_t *n, const char *path, char *out, size_t outsz);

/* ---- field.c: look a key up, convert if present ------------------------------- *
 * Return 1 present, 0 absent, -1 error. `np` (optional) receives the value node. */

/* A sub-mapping with its allowed keys. */
int config_field_map(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
		     const char *const *known, yaml_node_t **out, char *path, size_t psz);
int config_field_bool(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		      int req, int *out);
int config_field_int(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		     int req, long long min, long long max, int *out, yaml_node_t **np);
int config_field_str(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		     int req, unsigned flags, char *out, size_t outsz, yaml_node_t **np);

/* ---- addr.c: addresses and networks ----------------------------------------- */

void config_addr_format(struct cfg_addr *a);
/* The n-th (1-based) usable host address of `net`, with the network's prefix. */
int config_addr_nth_host(const struct cfg_addr *net, long n, struct cfg_addr *out);
/* A network in CIDR notation. */
int config_addr_cidr(struct ld *l, yaml_node_t *n, const char *path, struct cfg_addr *out);
/* A usable host address of `net` (see addr.c for prefix_required). */
int config_addr_host(struct ld *l, yaml_node_t *n, const char *path, const struct cfg_addr *net,
		     const char *netpath, int prefix_required, struct cfg_addr *out);

/* ---- the sections, in the order config_load() reads them ---------------------- */

/* identity.c: pvc.node, the host's domain and the node id */
int config_identity_load(struct ld *l, yaml_node_t *pvc, const char *hostname,
			 struct pvc_config *cfg);
/* cluster.c: pvc.cluster (coordinators, networks, zookeeper) */
int config_cluster_load(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg);
/* coordinator.c: pvc.coordinator (dns and metadata databases) */
int config_coordinator_load(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg);
/* system.c: pvc.system */
int config_system_load(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg);
/* api.c: pvc.system.api (the commands of api-units) */
int config_api_load(struct ld *l, yaml_node_t *sys, const char *spath, struct pvc_config *cfg);
/* ceph.c: pvc.system.ceph (conf, keyring, client of the ceph worker) */
int config_ceph_load(struct ld *l, yaml_node_t *sys, const char *spath, struct pvc_config *cfg);
/* configuration.c: pvc.system.configuration (directories, logging, networking) */
int config_configuration_load(struct ld *l, yaml_node_t *sys, const char *spath,
			      struct pvc_config *cfg);

#endif
