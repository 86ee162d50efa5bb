/*
 * interop.c: coexistence with the reference (Python) daemon during a rolling
 * upgrade (docs/election.md, "Mixed clusters").
 *
 * A reference primary holds no contender under /primary_node once its takeover
 * is over: its primacy is /primary_node naming it plus its own routerstate, and
 * its addresses stay up until its become-secondary sequence writes `secondary`.
 * So we watch every other coordinator's routerstate and daemonstate and treat a
 * peer whose routerstate is takeover/primary/relinquish, whose daemon is not
 * stopped or dead, and which owns no contender of ours, as a reference node
 * acting as primary: nobody here takes over while one exists, and the named one
 * is never reset to `none` for lack of a lock. A C peer always owns a contender
 * while in those states, so in a C-only cluster the lock alone decides, as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zk_internal.h"

static int active_rs(const char *rs)
{
	return strcmp(rs, "takeover") == 0 || strcmp(rs, "primary") == 0 ||
	       strcmp(rs, "relinquish") == 0;
}

/* `stop` and `dead` daemons hold nothing: an orderly stop relinquishes first, and
 * `dead` is written by a fencer before it power-cycles the node. */
static int live_ds(const char *ds)
{
	return strcmp(ds, "stop") != 0 && strcmp(ds, "dead") != 0;
}

static void peer_read(struct zk_peer *p, int daemonstate);

static void peer_exists_done(int rc, const struct Stat *stat, const void *data)
{
	(void)rc;
	(void)stat;
	(void)data;
}

static void peer_store(struct zk_peer *p, int daemonstate, int rc, const char *value, int len)
{
	char *dst = daemonstate ? p->ds : p->rs;
	size_t cap = daemonstate ? sizeof(p->ds) : sizeof(p->rs);

	dst[0] = '\0';
	if (rc == ZOK && value != NULL && len > 0 && (size_t)len < cap) {
		memcpy(dst, value, (size_t)len);
		dst[len] = '\0';
	}
	if (daemonstate)
		p->ds_known = 1;
	else
		p->rs_known = 1;
}

static void peer_done(int rc, const char *value, int len, const struct Stat *stat, const void *data,
		      int daemonstate)
{
	struct zk_peer *p = (struct zk_peer *)data;
	struct zk_ctx *z = p->z;
	char path[ZK_NAME * 3];

	(void)stat;
	if (z->closing || (rc != ZOK && rc != ZNONODE))
		return;
	if (rc == ZNONODE && zk_session_usable(z)) {
		/* a failed get leaves no watch: learn of the key's creation */
		snprintf(path, sizeof(path), "/nodes/%s/%s", p->name,
			 daemonstate ? "daemonstate" : "routerstate");
		if (zoo_awexists(z->zh, path, zk_session_path_watcher, z, peer_exists_done, z) != ZOK)
			log_warnx("cannot watch %s", path);
	}
	peer_store(p, daemonstate, rc, value, len);
	z->hooks->evaluate(z);
}

static void peer_rs_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	peer_done(rc, value, len, stat, data, 0);
}

static void peer_ds_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	peer_done(rc, value, len, stat, data, 1);
}

static void peer_read(struct zk_peer *p, int daemonstate)
{
	struct zk_ctx *z = p->z;
	char path[ZK_NAME * 3];

	if (!zk_session_usable(z))
		return;
	snprintf(path, sizeof(path), "/nodes/%s/%s", p->name, daemonstate ? "daemonstate" : "routerstate");
	if (zoo_awget(z->zh, path, zk_session_path_watcher, z, daemonstate ? peer_ds_done : peer_rs_done,
		      p) != ZOK)
		log_warnx("cannot read %s", path);
}

void zk_interop_connected(struct zk_ctx *z)
{
	z->npeers = 0;
	if (!z->cfg->is_coordinator)
		return;
	for (int i = 0; i < z->cfg->coordinator_count && z->npeers < CFG_MAX_COORDINATORS; i++) {
		struct zk_peer *p = &z->peers[z->npeers];
		if (strcmp(z->cfg->coordinators[i], z->cfg->node_name) == 0)
			continue;
		memset(p, 0, sizeof(*p));
		p->z = z;
		strlcpy_pvc(p->name, z->cfg->coordinators[i], sizeof(p->name));
		z->npeers++;
		peer_read(p, 0);
		peer_read(p, 1);
	}
}

/* A watch on /nodes/<peer>/routerstate|daemonstate fired: 1 if it was ours. */
int zk_interop_watch(struct zk_ctx *z, const char *path)
{
	for (int i = 0; i < z->npeers; i++) {
		struct zk_peer *p = &z->peers[i];
		size_t n = strlen(p->name);
		if (strncmp(path, "/nodes/", 7) != 0 || strncmp(path + 7, p->name, n) != 0 ||
		    path[7 + n] != '/')
			continue;
		if (strcmp(path + 8 + n, "routerstate") == 0) {
			peer_read(p, 0);
			return 1;
		}
		if (strcmp(path + 8 + n, "daemonstate") == 0) {
			peer_read(p, 1);
			return 1;
		}
	}
	return 0;
}

int zk_interop_known(const struct zk_ctx *z)
{
	if (!z->cfg->is_coordinator)
		return 1;
	if (z->npeers == 0 && z->cfg->coordinator_count > 1)
		return 0; /* not started on this connection yet */
	for (int i = 0; i < z->npeers; i++)
		if (!z->peers[i].rs_known || !z->peers[i].ds_known)
			return 0;
	return 1;
}

static const struct zk_peer *peer_find(const struct zk_ctx *z, const char *node)
{
	for (int i = 0; i < z->npeers; i++)
		if (strcmp(z->peers[i].name, node) == 0)
			return &z->peers[i];
	return NULL;
}

/* `node` acts as primary the reference's way (routerstate, no lock needed). */
int zk_interop_acting(const struct zk_ctx *z, const char *node)
{
	const struct zk_peer *p = peer_find(z, node);

	return p != NULL && p->rs_known && p->ds_known && active_rs(p->rs) && live_ds(p->ds);
}

/* A peer that acts as primary without holding a contender of ours: a reference
 * daemon in takeover, primary or relinquish. NULL when there is none. */
const char *zk_interop_blocker(const struct zk_ctx *z)
{
	for (int i = 0; i < z->npeers; i++) {
		const struct zk_peer *p = &z->peers[i];
		if (zk_interop_acting(z, p->name) && !zk_lock_owner_present(z, p->name))
			return p->name;
	}
	return NULL;
}

/* Log (once per change) why a takeover that the lock allows is held back. */
void zk_interop_note(struct zk_ctx *z, const char *blocker)
{
	const char *b = blocker ? blocker : "";
	const struct zk_peer *p = blocker ? peer_find(z, blocker) : NULL;

	if (strcmp(b, z->interop_wait) == 0)
		return;
	if (p != NULL)
		log_info("not taking over yet: coordinator %s is %s without a lock of ours "
			 "(reference daemon); waiting for its routerstate `secondary`",
			 p->name, p->rs);
	else if (z->interop_wait[0])
		log_info("coordinator %s no longer acts as primary", z->interop_wait);
	strlcpy_pvc(z->interop_wait, b, sizeof(z->interop_wait));
}
