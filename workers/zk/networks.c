/*
 * networks.c: the /networks tree -> MSG_NET_NETWORKS (issue #9, ref §1.4, §7).
 *
 * Every key of every network is read with a watch and kept as raw text. Whenever
 * something changed, and once all outstanding reads have completed, a short timer
 * rebuilds every definition (netdef), validates it, and sends the complete set of
 * valid networks to net-router. Rebuilding everything from raw text is simpler than
 * patching definitions in place and costs microseconds per network; the timer
 * coalesces a burst of watch events (an API transaction touches many keys) into
 * one frame. An invalid network is logged once per change; a network that never
 * was valid is left out, one that was keeps its last valid definition (see
 * rebuild()); the others are unaffected.
 *
 * Watches are one-shot: a data watch is re-armed by the read it triggers; a key
 * that does not exist is watched with exists() so its creation is seen. After a
 * (re)connection everything is read again (duplicate watches are merged by the
 * client library), and the set is sent again once complete.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netdef.h"
#include "zk_internal.h"
#include "zk_nets_int.h"

#define NETS "/networks"
#define VALUE_MAX 8192 /* larger data is garbage for every key we read */

const char *const zn_keyname[NKEYS] = {
	"", "nettype", "domain", "name_servers", "ip4_network", "ip4_gateway", "dhcp4_flag",
	"dhcp4_start", "dhcp4_end", "ip6_network", "ip6_gateway", "dhcp6_flag",
};

static const char *const contname[NCONT] = {"dhcp4_reservations", "firewall_rules/in",
					    "firewall_rules/out"};
static const char *const fieldname[NCONT][2] = {
	{"hostname", "ipaddr"}, {"order", "rule"}, {"order", "rule"}};

struct zn_op {
	struct zk_ctx *z;
	uint64_t gen;
	char path[512]; /* an ACL description may be 255 bytes */
};

static void nets_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);
static void read_path(struct zk_ctx *z, const char *path);

/* ---- small helpers ---------------------------------------------------------------- */

static int name_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

static struct zn_net *find_net(struct zk_nets *nn, const char *name, size_t *pos)
{
	size_t lo = 0, hi = nn->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = name_cmp(nn->net[mid]->name, name);
		if (c == 0) {
			if (pos)
				*pos = mid;
			return nn->net[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

/* A network's child name is its VNI: plain decimal, no leading zero. */
static uint32_t name_vni(const char *s)
{
	unsigned long long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 9 || s[0] == '0' || strspn(s, "0123456789") != n)
		return 0;
	v = strtoull(s, NULL, 10);
	return v <= NETDEF_VNI_MAX ? (uint32_t)v : 0;
}

/* ZooKeeper data as a C string; NUL bytes become 0x01 so validators reject them. */
static char *dup_value(const char *value, int len)
{
	char *s;

	if (value == NULL || len < 0)
		len = 0;
	if (len > VALUE_MAX)
		return strdup("\x01(value too long)");
	s = malloc((size_t)len + 1);
	if (s == NULL)
		return NULL;
	for (int i = 0; i < len; i++)
		s[i] = value[i] == '\0' ? '\x01' : value[i];
	s[len] = '\0';
	return s;
}

/* Replace *slot by v (owned); marks dirty when the text changed. */
static void set_slot(struct zk_nets *nn, char **slot, char *v)
{
	if ((*slot == NULL) != (v == NULL) || (v != NULL && strcmp(*slot, v) != 0))
		nn->dirty = 1;
	free(*slot);
	*slot = v;
}

static void free_net(struct zn_net *n)
{
	for (int k = 0; k < NKEYS; k++)
		free(n->val[k]);
	for (int c = 0; c < NCONT; c++) {
		for (size_t i = 0; i < n->nch[c]; i++) {
			free(n->ch[c][i].name);
			free(n->ch[c][i].val[0]);
			free(n->ch[c][i].val[1]);
		}
		free(n->ch[c]);
	}
	free(n->err);
	netdef_clear(&n->def);
	free(n);
}

/* ---- reads ------------------------------------------------------------------------ */

static struct zn_op *op_new(struct zk_ctx *z, const char *path)
{
	struct zn_op *op = calloc(1, sizeof(*op));

	if (op == NULL) {
		log_errx("networks: out of memory reading %s", path);
		return NULL;
	}
	op->z = z;
	op->gen = z->nets->gen;
	strlcpy_pvc(op->path, path, sizeof(op->path));
	z->nets->outstanding++;
	return op;
}

/* Completion bookkeeping: 1 if the result belongs to the current generation. */
static int op_end(struct zn_op *op)
{
	struct zk_nets *nn = op->z->nets;

	if (op->gen != nn->gen)
		return 0;
	if (nn->outstanding > 0)
		nn->outstanding--;
	if (nn->outstanding == 0) {
		nn->reread = 0;
		zk_networks_send_arm(op->z);
	}
	return 1;
}

/*
 * Resolve a path below /networks: the network, and what it names:
 * kind 0 the network's data, 1 key `*idx`, 2 container `*idx` (children),
 * 3 field `*fld` of child `*chi` of container `*idx`. -1 if not ours.
 */
static int resolve(struct zk_nets *nn, const char *path, struct zn_net **net, int *idx,
		   size_t *chi, int *fld)
{
	char name[16];
	const char *rest, *slash;
	size_t nl;

	if (strncmp(path, NETS "/", sizeof(NETS)) != 0)
		return -1;
	rest = path + sizeof(NETS);
	slash = strchr(rest, '/');
	nl = slash ? (size_t)(slash - rest) : strlen(rest);
	if (nl == 0 || nl >= sizeof(name))
		return -1;
	memcpy(name, rest, nl);
	name[nl] = '\0';
	if ((*net = find_net(nn, name, NULL)) == NULL || (*net)->vni == 0)
		return -1;
	if (slash == NULL)
		return 0;
	rest = slash + 1;
	for (int k = 1; k < NKEYS; k++)
		if (strcmp(rest, zn_keyname[k]) == 0) {
			*idx = k;
			return 1;
		}
	for (int c = 0; c < NCONT; c++) {
		size_t cl = strlen(contname[c]);
		const char *child, *f;
		if (strncmp(rest, contname[c], cl) != 0)
			continue;
		if (rest[cl] == '\0') {
			*idx = c;
			return 2;
		}
		if (rest[cl] != '/')
			continue;
		child = rest + cl + 1;
		if ((f = strchr(child, '/')) == NULL)
			return -1;
		for (size_t i = 0; i < (*net)->nch[c]; i++) {
			const char *cn = (*net)->ch[c][i].name;
			size_t l = strlen(cn);
			if (l == (size_t)(f - child) && strncmp(cn, child, l) == 0) {
				for (int j = 0; j < 2; j++)
					if (strcmp(f + 1, fieldname[c][j]) == 0) {
						*idx = c;
						*chi = i;
						*fld = j;
						return 3;
					}
			}
		}
		return -1;
	}
	return -1;
}

static char **value_slot(struct zk_nets *nn, const char *path)
{
	struct zn_net *n;
	int idx = 0, fld = 0;
	size_t chi = 0;

	switch (resolve(nn, path, &n, &idx, &chi, &fld)) {
	case 0:
		return &n->val[K_DESC];
	case 1:
		return &n->val[idx];
	case 3:
		return &n->ch[idx][chi].val[fld];
	default:
		return NULL;
	}
}

static void exists_done(int rc, const struct Stat *stat, const void *data)
{
	struct zn_op *op = (struct zn_op *)data;

	(void)stat;
	if (op_end(op) && rc == ZOK)
		read_path(op->z, op->path); /* created between the get and the exists */
	free(op);
}

static void data_done(int rc, const char *value, int len, const struct Stat *stat,
		      const void *data)
{
	struct zn_op *op = (struct zn_op *)data;
	struct zk_ctx *z = op->z;
	char **slot;

	(void)stat;
	if (op->gen == z->nets->gen && (slot = value_slot(z->nets, op->path)) != NULL) {
		if (rc == ZOK) {
			char *v = dup_value(value, len);
			if (v != NULL)
				set_slot(z->nets, slot, v);
		} else if (rc == ZNONODE) {
			struct zn_op *eop = op_new(z, op->path);
			set_slot(z->nets, slot, NULL);
			if (eop != NULL && zoo_awexists(z->zh, op->path, nets_watcher, z, exists_done,
							eop) != ZOK) {
				z->nets->outstanding--;
				free(eop);
			}
		} else {
			log_warnx("networks: reading %s: %s", op->path, zk_session_err(rc));
		}
	}
	op_end(op);
	free(op);
}

static void read_path(struct zk_ctx *z, const char *path)
{
	struct zn_op *op;

	if (!zk_session_usable(z) || (op = op_new(z, path)) == NULL)
		return;
	if (zoo_awget(z->zh, path, nets_watcher, z, data_done, op) != ZOK) {
		log_warnx("networks: cannot read %s", path);
		z->nets->outstanding--;
		free(op);
	}
}

static void read_children(struct zk_ctx *z, const char *path);

static void read_child_fields(struct zk_ctx *z, struct zn_net *n, int c, size_t i)
{
	char path[512]; /* an ACL description may be 255 bytes */

	for (int j = 0; j < 2; j++) {
		snprintf(path, sizeof(path), NETS "/%s/%s/%s/%s", n->name, contname[c],
			 n->ch[c][i].name, fieldname[c][j]);
		read_path(z, path);
	}
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int child_cmp(const void *a, const void *b)
{
	return strcmp(((const struct zn_child *)a)->name, ((const struct zn_child *)b)->name);
}

static void unwatch_done(int rc, const void *data)
{
	(void)rc; /* ZNOWATCHER is the common case: nothing was left */
	(void)data;
}

/*
 * A key read after its deletion leaves an exists() watch so that its re-creation
 * is seen. Once its reservation, ACL or network is gone from the tree, that watch
 * would stay on the server and in the client until the same path is created
 * again: one per deleted key, for the life of the session. Drop ours.
 */
static void unwatch(struct zk_ctx *z, const char *path)
{
	/* "all": only that removes the watch on the server too (removing one watcher
	 * is a client-side check). Below /networks every watch of this handle is
	 * ours. The prototype says void_completion_t * but the client stores and
	 * calls the pointer it is given as the completion itself. */
	if (zk_session_usable(z))
		(void)zoo_aremove_all_watches(z->zh, path, ZWATCHTYPE_ANY, 0,
					      (void_completion_t *)(void *)unwatch_done, NULL);
}

static void unwatch_child(struct zk_ctx *z, const struct zn_net *n, int c, const char *child)
{
	char path[512]; /* an ACL description may be 255 bytes */

	for (int j = 0; j < 2; j++) {
		snprintf(path, sizeof(path), NETS "/%s/%s/%s/%s", n->name, contname[c], child,
			 fieldname[c][j]);
		unwatch(z, path);
	}
}

static void unwatch_net(struct zk_ctx *z, const struct zn_net *n)
{
	char path[512];

	if (n->vni == 0)
		return; /* never read */
	for (int k = 0; k < NKEYS; k++) {
		snprintf(path, sizeof(path), NETS "/%s%s%s", n->name, k ? "/" : "", zn_keyname[k]);
		unwatch(z, path);
	}
	for (int c = 0; c < NCONT; c++) {
		snprintf(path, sizeof(path), NETS "/%s/%s", n->name, contname[c]);
		unwatch(z, path);
		for (size_t i = 0; i < n->nch[c]; i++)
			unwatch_child(z, n, c, n->ch[c][i].name);
	}
}

/* New children list of a container: keep known children, read new ones. */
static void container_list(struct zk_ctx *z, struct zn_net *n, int c, const struct String_vector *sv)
{
	struct zn_child *nc, key;
	size_t m = 0, cap = sv->count > 0 ? (size_t)sv->count : 1;
	char **names = calloc(cap, sizeof(*names));
	unsigned char *moved = calloc(n->nch[c] + 1, 1);

	nc = calloc(cap, sizeof(*nc));
	if (names == NULL || nc == NULL || moved == NULL) {
		log_errx("network %s: out of memory listing %s", n->name, contname[c]);
		free(names);
		free(nc);
		free(moved);
		return;
	}
	for (int i = 0; i < sv->count; i++)
		names[i] = sv->data[i];
	qsort(names, (size_t)sv->count, sizeof(*names), str_cmp);
	for (int i = 0; i < sv->count; i++) {
		struct zn_child *old;
		if (names[i][0] == '\0' || (i > 0 && strcmp(names[i], names[i - 1]) == 0))
			continue;
		key.name = names[i];
		old = n->nch[c] ? bsearch(&key, n->ch[c], n->nch[c], sizeof(key), child_cmp) : NULL;
		if (old != NULL) {
			nc[m++] = *old;
			moved[old - n->ch[c]] = 1;
			continue;
		}
		if ((nc[m].name = strdup(names[i])) != NULL)
			m++;
	}
	free(names);
	if (m != n->nch[c])
		z->nets->dirty = 1;
	for (size_t i = 0; i < n->nch[c]; i++) {
		if (moved[i])
			continue;
		z->nets->dirty = 1;
		unwatch_child(z, n, c, n->ch[c][i].name);
		free(n->ch[c][i].name);
		free(n->ch[c][i].val[0]);
		free(n->ch[c][i].val[1]);
	}
	free(moved);
	free(n->ch[c]);
	n->ch[c] = nc;
	n->nch[c] = m;
	/* read new children; after a reconnection every child again, for its watches
	 * (re-reading an unchanged value changes nothing) */
	for (size_t i = 0; i < m; i++)
		if (nc[i].val[0] == NULL || nc[i].val[1] == NULL || z->nets->reread)
			read_child_fields(z, n, c, i);
}

static void net_read_all(struct zk_ctx *z, struct zn_net *n);

static int name_pcmp(const void *a, const void *b)
{
	return name_cmp(*(char *const *)a, *(char *const *)b);
}

/* New /networks children: keep known networks, read new ones, free the rest. */
static void networks_list(struct zk_ctx *z, const struct String_vector *sv)
{
	struct zk_nets *nn = z->nets;
	struct zn_net **nv;
	size_t m = 0, cap = sv->count > 0 ? (size_t)sv->count : 1;
	char **names = calloc(cap, sizeof(*names));
	unsigned char *moved = calloc(nn->n + 1, 1);

	nv = calloc(cap, sizeof(*nv));
	if (names == NULL || nv == NULL || moved == NULL) {
		log_errx("networks: out of memory listing " NETS);
		free(names);
		free(nv);
		free(moved);
		return;
	}
	for (int i = 0; i < sv->count; i++)
		names[i] = sv->data[i];
	/* numeric order: for lookups and for the frame */
	qsort(names, (size_t)sv->count, sizeof(*names), name_pcmp);
	for (int i = 0; i < sv->count; i++) {
		struct zn_net *n;
		size_t pos;
		if (strlen(names[i]) >= sizeof(n->name)) {
			log_warnx("networks: ignoring child '%.32s' of " NETS ": not a VNI", names[i]);
			continue;
		}
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if ((n = find_net(nn, names[i], &pos)) != NULL) {
			moved[pos] = 1;
			nv[m++] = n;
			if (nn->reread && n->vni != 0)
				net_read_all(z, n);
			continue;
		}
		if ((n = calloc(1, sizeof(*n))) == NULL)
			continue;
		strlcpy_pvc(n->name, names[i], sizeof(n->name));
		n->vni = name_vni(n->name);
		netdef_init(&n->def, n->vni);
		nv[m++] = n;
		nn->dirty = 1;
		if (n->vni != 0)
			net_read_all(z, n);
	}
	free(names);
	for (size_t i = 0; i < nn->n; i++)
		if (!moved[i]) {
			log_info("network %s: removed from ZooKeeper", nn->net[i]->name);
			unwatch_net(z, nn->net[i]);
			free_net(nn->net[i]);
			nn->dirty = 1;
		}
	free(moved);
	free(nn->net);
	nn->net = nv;
	nn->n = m;
}

static void children_done(int rc, const struct String_vector *sv, const void *data)
{
	struct zn_op *op = (struct zn_op *)data;
	struct zk_ctx *z = op->z;
	struct zk_nets *nn = z->nets;
	struct String_vector empty = {0, NULL};

	if (op->gen == nn->gen) {
		if (rc == ZNONODE)
			sv = &empty;
		if (rc == ZOK || rc == ZNONODE) {
			int ours = 1;
			if (strcmp(op->path, NETS) == 0) {
				networks_list(z, sv);
				nn->listed = 1;
			} else {
				struct zn_net *n;
				int idx = 0, fld;
				size_t chi;
				if (resolve(nn, op->path, &n, &idx, &chi, &fld) == 2)
					container_list(z, n, idx, sv);
				else
					ours = 0; /* its network left meanwhile: no watch */
			}
			if (rc == ZNONODE && ours) {
				/* watch for its creation */
				struct zn_op *eop = op_new(z, op->path);
				if (eop != NULL && zoo_awexists(z->zh, op->path, nets_watcher, z,
								exists_done, eop) != ZOK) {
					nn->outstanding--;
					free(eop);
				}
			}
		} else {
			log_warnx("networks: listing %s: %s", op->path, zk_session_err(rc));
		}
	}
	op_end(op);
	free(op);
}

static void read_children(struct zk_ctx *z, const char *path)
{
	struct zn_op *op;

	if (!zk_session_usable(z) || (op = op_new(z, path)) == NULL)
		return;
	if (zoo_awget_children(z->zh, path, nets_watcher, z, children_done, op) != ZOK) {
		log_warnx("networks: cannot list %s", path);
		z->nets->outstanding--;
		free(op);
	}
}

static void net_read_all(struct zk_ctx *z, struct zn_net *n)
{
	char path[512]; /* an ACL description may be 255 bytes */

	for (int k = 0; k < NKEYS; k++) {
		snprintf(path, sizeof(path), NETS "/%s%s%s", n->name, k ? "/" : "", zn_keyname[k]);
		read_path(z, path);
	}
	for (int c = 0; c < NCONT; c++) {
		snprintf(path, sizeof(path), NETS "/%s/%s", n->name, contname[c]);
		read_children(z, path);
	}
}

static void nets_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk_ctx *z = ctx;
	struct zn_net *n;
	int idx = 0, fld = 0;
	size_t chi = 0;

	(void)state;
	if (type == ZOO_SESSION_EVENT || zh != z->zh || z->closing || path == NULL ||
	    z->nets == NULL)
		return;
	if (strcmp(path, NETS) == 0) {
		read_children(z, NETS);
		return;
	}
	switch (resolve(z->nets, path, &n, &idx, &chi, &fld)) {
	case 0:
	case 1:
	case 3:
		if (type != ZOO_CHILD_EVENT)
			read_path(z, path);
		break;
	case 2:
		if (type == ZOO_CHILD_EVENT || type == ZOO_CREATED_EVENT || type == ZOO_DELETED_EVENT)
			read_children(z, path);
		break;
	default:
		break; /* a network or child that is gone */
	}
}

/* ---- entry points ------------------------------------------------------------------ */

int zk_networks_init(struct zk_ctx *z)
{
	z->nets = calloc(1, sizeof(*z->nets));
	if (z->nets == NULL) {
		log_errx("networks: out of memory");
		return -1;
	}
	return 0;
}

void zk_networks_connected(struct zk_ctx *z)
{
	struct zk_nets *nn = z->nets;

	if (nn == NULL || !z->cfg->enable_networking)
		return;
	nn->gen++;
	nn->outstanding = 0;
	nn->listed = 0;
	nn->force = 1; /* send the complete set again once everything is read */
	nn->reread = 1;
	if (nn->timer != 0) {
		ev_timer_cancel(z->loop, nn->timer);
		nn->timer = 0;
	}
	read_children(z, NETS);
}

void zk_networks_hello(struct zk_ctx *z)
{
	struct zk_nets *nn = z->nets;

	if (nn == NULL || !z->cfg->enable_networking)
		return;
	nn->force = 1;
	if (nn->listed && nn->outstanding == 0)
		zk_networks_send_now(z);
	/* else: sent when the reads in flight complete */
}

struct lease_op **zk_networks_lease_ops(struct zk_ctx *z)
{
	return &z->nets->lease_ops;
}

const struct netdef *zk_networks_find(struct zk_ctx *z, uint32_t vni)
{
	char name[16];
	struct zn_net *n;

	if (z->nets == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%u", vni);
	n = find_net(z->nets, name, NULL);
	return n != NULL && n->valid ? &n->def : NULL;
}
