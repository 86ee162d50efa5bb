/*
 * field.c: the shortcuts the section files are written with: look a key up in its
 * mapping and, if present, check and convert its value (value.c, map.c).
 */
#include "config_int.h"

int config_field_map(struct ld *l, yaml_node_t *map, const char *mpath, const char *key, int req,
		     const char *const *known, yaml_node_t **out, char *path, size_t psz)
{
	int r = config_map_get(l, map, mpath, key, req, out, path, psz);

	if (r <= 0)
		return r;
	TRY(config_map_check(l, *out, path, known));
	return 1;
}

int config_field_bool(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		      int req, int *out)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = config_map_get(l, map, mpath, key, req, &n, path, sizeof path);

	if (r <= 0)
		return r;
	TRY(config_value_bool(l, n, path, out));
	return 1;
}

int config_field_int(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		     int req, long long min, long long max, int *out, yaml_node_t **np)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = config_map_get(l, map, mpath, key, req, &n, path, sizeof path);

	if (np)
		*np = n;
	if (r <= 0)
		return r;
	TRY(config_value_int(l, n, path, min, max, NULL, out));
	return 1;
}

int config_field_str(struct ld *l, yaml_node_t *map, const char *mpath, const char *key,
		     int req, unsigned flags, char *out, size_t outsz, yaml_node_t **np)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = config_map_get(l, map, mpath, key, req, &n, path, sizeof path);

	if (np)
		*np = n;
	if (r <= 0)
		return r;
	TRY(config_value_str(l, n, path, flags, out, outsz));
	return 1;
}
