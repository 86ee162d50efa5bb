/*
 * lock.c: this node's contender in the kazoo exclusive lock on /primary_node.
 *
 * Wire format as kazoo's Lock: ephemeral-sequential children
 * `<32 hex>__lock__<10 digits>` whose data is an identifier (we store the node
 * name, so that every coordinator can tell who holds or waits). The holder is the
 * lowest `__lock__` sequence. We keep a children watch on /primary_node (the
 * election needs the whole contender list anyway, for dead-primary detection, and
 * the list is a handful of entries) and, from the read of its owner on, a data watch
 * on every other contender: its deletion event names it, so a waiting contender
 * knows it holds the lock without listing the children again (one ZooKeeper round
 * trip less at every switchover). Sequence numbers only grow, so a contender
 * created meanwhile can never be ahead of us: the known list is enough to decide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "zk_acl.h"
#include "zk_internal.h"

struct lock_get {
	struct zk_ctx *z;
	char name[ZK_NAME];
};

static struct zk_contender *find(struct zk_ctx *z, const char *name)
{
	for (int i = 0; i < z->ncont; i++)
		if (strcmp(z->cont[i].name, name) == 0)
			return &z->cont[i];
	return NULL;
}

int zk_lock_all_known(const struct zk_ctx *z)
{
	for (int i = 0; i < z->ncont; i++)
		if (!z->cont[i].known)
			return 0;
	return 1;
}

int zk_lock_held(const struct zk_ctx *z)
{
	const struct zk_contender *mine = NULL;

	if (z->my_lock[0] == '\0' || !z->children_known)
		return 0;
	for (int i = 0; i < z->ncont; i++)
		if (strcmp(z->cont[i].name, z->my_lock) == 0)
			mine = &z->cont[i];
	if (mine == NULL)
		return 0;
	for (int i = 0; i < z->ncont; i++)
		if (z->cont[i].seq < mine->seq)
			return 0;
	return 1;
}

int zk_lock_owner_present(const struct zk_ctx *z, const char *node)
{
	for (int i = 0; i < z->ncont; i++)
		if (z->cont[i].known && strcmp(z->cont[i].owner, node) == 0)
			return 1;
	return 0;
}

void zk_lock_forget(struct zk_ctx *z)
{
	z->my_lock[0] = '\0';
	z->my_prefix[0] = '\0';
	z->ncont = 0;
	z->children_known = 0;
	z->lock_creating = 0;
	z->lock_deleting = 0;
}

void zk_lock_deleted(struct zk_ctx *z)
{
	struct zk_contender *c = z->my_lock[0] ? find(z, z->my_lock) : NULL;

	if (c != NULL) {
		*c = z->cont[z->ncont - 1];
		z->ncont--;
	}
	z->my_lock[0] = '\0';
	z->my_prefix[0] = '\0';
}

static void get_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	struct lock_get *g = (struct lock_get *)data;
	struct zk_ctx *z = g->z;
	struct zk_contender *c;

	if (z->closing) {
		free(g);
		return;
	}
	c = find(z, g->name);
	if (c != NULL && rc == ZNONODE) {
		*c = z->cont[z->ncont - 1];
		z->ncont--;
	} else if (c != NULL && rc == ZOK) {
		char owner[ZK_NAME] = "";
		if (value != NULL && len > 0 && len < ZK_NAME) {
			memcpy(owner, value, (size_t)len);
			owner[len] = '\0';
		}
		if (!zk_values_node_name(owner)) {
			/* a foreign (kazoo/API) contender or garbage: it still orders the lock */
			owner[0] = '\0';
		}
		strlcpy_pvc(c->owner, owner, sizeof(c->owner));
		c->eph = stat ? stat->ephemeralOwner : 0;
		c->known = 1;
		/* A resumed session finds its contender by owner session, not by name. */
		if (z->my_lock[0] == '\0' && c->eph != 0 && z->have_cid &&
		    c->eph == z->cid.client_id) {
			strlcpy_pvc(z->my_lock, c->name, sizeof(z->my_lock));
			log_info("found own lock contender %s of session 0x%llx", c->name,
				 (unsigned long long)c->eph);
		}
	} else if (c != NULL) {
		/* connection trouble: the reconnect re-reads everything */
		log_debug("lock contender %s: %s", g->name, zk_session_err(rc));
	}
	free(g);
	z->hooks->lock_changed(z, 0);
}

/* The listing failed: only a missing /primary_node tells us something. */
static void children_failed(struct zk_ctx *z, int rc)
{
	if (rc != ZNONODE) {
		log_debug("children of %s: %s", ZK_LOCK_PATH, zk_session_err(rc));
		return;
	}
	/* created by the base containers; the exists watch fires then */
	z->ncont = 0;
	z->children_known = 1;
	z->hooks->lock_changed(z, 0);
}

/* Rebuild z->cont from a listing, keeping what was known of old contenders.
 * Returns 1 if our own contender is in it. */
static int children_adopt(struct zk_ctx *z, const struct String_vector *sv,
			  const struct zk_contender *old, int nold)
{
	int mine_present = 0;

	z->ncont = 0;
	for (int i = 0; sv && i < sv->count; i++) {
		const char *name = sv->data[i];
		uint32_t seq;
		struct zk_contender *c;
		if (name == NULL || zk_values_contender(name, &seq) != 1)
			continue; /* read locks and foreign children do not order this lock */
		if (z->ncont == ZK_MAX_CONTENDERS) {
			log_warnx("more than %d contenders under %s; ignoring the rest",
				  ZK_MAX_CONTENDERS, ZK_LOCK_PATH);
			break;
		}
		c = &z->cont[z->ncont++];
		memset(c, 0, sizeof(*c));
		strlcpy_pvc(c->name, name, sizeof(c->name));
		c->seq = seq;
		for (int j = 0; j < nold; j++)
			if (strcmp(old[j].name, name) == 0) {
				*c = old[j];
				break;
			}
		if (z->my_lock[0] && strcmp(name, z->my_lock) == 0)
			mine_present = 1;
		/* a create whose answer was lost with the connection: adopt it by prefix */
		if (z->my_lock[0] == '\0' && z->my_prefix[0] && !z->lock_creating &&
		    strncmp(name, z->my_prefix, 32) == 0) {
			strlcpy_pvc(z->my_lock, name, sizeof(z->my_lock));
			mine_present = 1;
		}
	}
	return mine_present;
}

/* Did the node named in /primary_node lose its contender (session expired)? */
static int owner_vanished(const struct zk_ctx *z, const struct zk_contender *old, int nold)
{
	int before = 0;

	if (!z->primary_known || !zk_values_node_name(z->primary) || !z->children_known)
		return 0;
	for (int j = 0; j < nold; j++)
		if (old[j].known && strcmp(old[j].owner, z->primary) == 0)
			before = 1;
	return before && !zk_lock_owner_present(z, z->primary);
}

/* Read the data (owner) of every contender not known yet. */
static void children_read_owners(struct zk_ctx *z)
{
	for (int i = 0; i < z->ncont; i++) {
		struct zk_contender *c = &z->cont[i];
		struct lock_get *g;
		char path[ZK_NAME * 2];
		if (c->known)
			continue;
		if (strcmp(c->name, z->my_lock) == 0) {
			strlcpy_pvc(c->owner, z->cfg->node_name, sizeof(c->owner));
			c->eph = z->cid.client_id;
			c->known = 1;
			continue;
		}
		g = calloc(1, sizeof(*g));
		if (g == NULL) {
			log_errx("out of memory reading lock contenders");
			continue;
		}
		g->z = z;
		strlcpy_pvc(g->name, c->name, sizeof(g->name));
		snprintf(path, sizeof(path), "%s/%s", ZK_LOCK_PATH, c->name);
		if (zoo_awget(z->zh, path, zk_session_path_watcher, z, get_done, g) != ZOK)
			free(g);
	}
}

static void children_done(int rc, const struct String_vector *sv, const struct Stat *stat,
			  const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	struct zk_contender old[ZK_MAX_CONTENDERS];
	int nold = z->ncont, vanished, mine_present;

	if (z->closing)
		return;
	if (rc != ZOK) {
		children_failed(z, rc);
		return;
	}
	memcpy(old, z->cont, (size_t)nold * sizeof(old[0]));
	mine_present = children_adopt(z, sv, old, nold);
	vanished = owner_vanished(z, old, nold);
	if (z->my_lock[0] && !mine_present && !z->lock_creating) {
		log_warnx("own lock contender %s disappeared", z->my_lock);
		z->my_lock[0] = '\0';
		z->my_prefix[0] = '\0';
	}
	z->children_known = 1;
	children_read_owners(z);
	z->hooks->lock_changed(z, vanished);
}

void zk_lock_children(struct zk_ctx *z)
{
	int rc;

	if (!zk_session_usable(z))
		return;
	rc = zoo_awget_children2(z->zh, ZK_LOCK_PATH, zk_session_path_watcher, z, children_done, z);
	if (rc != ZOK)
		log_warnx("children of %s: %s", ZK_LOCK_PATH, zk_session_err(rc));
}

void zk_lock_children_event(struct zk_ctx *z)
{
	zk_lock_children(z);
}

void zk_lock_contender_event(struct zk_ctx *z, int type, const char *name)
{
	struct zk_contender *c = find(z, name);
	struct zk_contender gone;

	if (type != ZOO_DELETED_EVENT || c == NULL || strcmp(name, z->my_lock) == 0)
		return; /* our own contender's fate is in its delete answer and the listing */
	gone = *c;
	*c = z->cont[z->ncont - 1];
	z->ncont--;
	log_debug("lock contender %s (%s) deleted", name, gone.known ? gone.owner : "?");
	z->hooks->lock_changed(z, owner_vanished(z, &gone, 1));
}

static void create_done(int rc, const char *value, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	const char *base;

	if (z->closing)
		return;
	z->lock_creating = 0;
	if (rc == ZOK && value != NULL && (base = strrchr(value, '/')) != NULL &&
	    zk_values_contender(base + 1, NULL) == 1) {
		struct zk_contender *c;
		strlcpy_pvc(z->my_lock, base + 1, sizeof(z->my_lock));
		c = find(z, z->my_lock);
		if (c != NULL) {
			strlcpy_pvc(c->owner, z->cfg->node_name, sizeof(c->owner));
			c->known = 1;
		}
		log_debug("lock contender %s created", z->my_lock);
		z->hooks->lock_changed(z, 0);
		return;
	}
	if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT) {
		/* it may exist: the children read after the reconnect adopts it by prefix */
		return;
	}
	log_warnx("cannot create a lock contender under %s: %s", ZK_LOCK_PATH, zk_session_err(rc));
	z->my_prefix[0] = '\0';
}

void zk_lock_create(struct zk_ctx *z)
{
	unsigned char rnd[16];
	char path[ZK_NAME * 2];
	const char *name = z->cfg->node_name;
	int rc;

	if (!zk_session_usable(z) || z->lock_creating || z->my_lock[0])
		return;
	if (z->my_prefix[0] == '\0') {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			log_warn("getrandom");
			return;
		}
		/* a UUID4 as kazoo makes it: version and variant bits set */
		rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
		rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
		for (int i = 0; i < 16; i++)
			snprintf(z->my_prefix + 2 * i, 3, "%02x", rnd[i]);
	}
	snprintf(path, sizeof(path), "%s/%s__lock__", ZK_LOCK_PATH, z->my_prefix);
	rc = zoo_acreate(z->zh, path, name, (int)strlen(name), zk_acl_create(z),
			 ZOO_EPHEMERAL | ZOO_SEQUENCE, create_done, z);
	if (rc != ZOK) {
		log_warnx("lock contender: %s", zk_session_err(rc));
		return;
	}
	z->lock_creating = 1;
}

static void delete_done(int rc, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;

	if (z->closing)
		return;
	z->lock_deleting = 0;
	if (rc == ZOK || rc == ZNONODE) {
		log_debug("lock contender %s released", z->my_lock);
		zk_lock_deleted(z);
	} else {
		log_warnx("cannot release lock contender %s: %s", z->my_lock, zk_session_err(rc));
	}
	z->hooks->lock_changed(z, 0);
}

void zk_lock_release(struct zk_ctx *z)
{
	char path[ZK_NAME * 2];

	if (!zk_session_usable(z) || z->lock_deleting || z->my_lock[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s", ZK_LOCK_PATH, z->my_lock);
	if (zoo_adelete(z->zh, path, -1, delete_done, z) == ZOK)
		z->lock_deleting = 1;
}
