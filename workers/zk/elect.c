/*
 * elect.c: the primary election (DESIGN §3).
 *
 * Inputs: /primary_node (value + version), the contender list of the lock on it,
 * our daemon state, the session lease and net-router's acknowledgements. Output:
 * net-router instructions, /nodes/<self>/routerstate, our contender, and the
 * version-checked writes of our name (contention) or `none` (dead primary).
 *
 * Safety argument: resources go up only when we hold the lock (lowest contender)
 * and /primary_node names us and the lease is valid; a holder deletes its contender
 * only after net-router acknowledged that the resources are down (in the same
 * transaction that writes routerstate `secondary`), and a contender that is lost
 * without release vanishes only when the session has expired, which the lease
 * anticipates by L + 1.5 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zk_internal.h"

#define NONE_HOLD_MS 2000
#define NET_RESEND_MS 5000

static void evaluate(struct zk_ctx *z);
static void shutdown_poll(struct ev_loop *loop, void *arg);

static const char *self(const struct zk_ctx *z)
{
	return z->cfg->node_name;
}

static int is_self(const struct zk_ctx *z, const char *name)
{
	return strcmp(name, self(z)) == 0;
}

static int rs_is(const struct zk_ctx *z, const char *s)
{
	return strcmp(z->routerstate, s) == 0;
}

static int synced(const struct zk_ctx *z)
{
	return z->primary_known && z->children_known && zk_lock_all_known(z) &&
	       z->routerstate_known && z->ds_known && z->registered && zk_interop_known(z);
}

/* Daemon state that lets us hold the primary: `run`; during shutdown phase 1
 * (`shutdown`) a primary stays primary (the hand-over is phase 2's job, after
 * flush and vm-manager) but nobody becomes primary. */
static int may_hold(const struct zk_ctx *z)
{
	if (z->phase == 0)
		return strcmp(z->daemonstate, "run") == 0;
	return z->phase == 1 && z->net_want == 1;
}

int zk_elect_desired(const struct zk_ctx *z)
{
	return z->cfg->is_coordinator && z->synced && may_hold(z) && is_self(z, z->primary) &&
	       zk_lock_held(z) && zk_session_lease_valid(z) && zk_interop_blocker(z) == NULL;
}

/* Takeover after a lock lost without release waits until a dead holder's addresses
 * have expired: D = max(0, L + 1 s + 250 ms - 2T/3). Zero for T >= 3.4 s. */
static uint64_t takeover_delay(const struct zk_ctx *z)
{
	long long d = ZK_ADDR_LIFETIME_MS + 1000 + 250 - (2LL * z->T) / 3;

	return (z->cfg->enable_networking && d > 0) ? (uint64_t)d : 0;
}

/* ---- routerstate writes -------------------------------------------------------- */

struct rs_write {
	struct zk_ctx *z;
	char value[16];
	int release; /* the multi also deleted our contender */
};

static void rs_done(struct zk_ctx *z, int rc, struct zk_multi *m)
{
	struct rs_write *r = m->arg;

	z->rs_inflight--;
	if (!z->closing) {
		if (rc == ZOK) {
			strlcpy_pvc(z->routerstate, r->value, sizeof(z->routerstate));
			log_info("router state is now %s", r->value);
			if (r->release)
				zk_lock_deleted(z);
		} else {
			log_warnx("cannot write router state %s: %s", r->value, zk_session_err(rc));
		}
	}
	free(r);
	if (!z->closing) {
		evaluate(z);
		z->hooks->status(z);
	}
}

static void rs_write(struct zk_ctx *z, const char *value, int release)
{
	struct zk_multi *m;
	struct rs_write *r;
	char path[ZK_NAME * 3];

	if (!zk_session_usable(z))
		return;
	m = zk_multi_new(z);
	r = calloc(1, sizeof(*r));
	if (m == NULL || r == NULL) {
		free(m);
		free(r);
		log_errx("out of memory writing the router state");
		return;
	}
	r->z = z;
	strlcpy_pvc(r->value, value, sizeof(r->value));
	snprintf(path, sizeof(path), "/nodes/%s/routerstate", self(z));
	(void)zk_multi_set(m, path, value, -1);
	if (release && z->my_lock[0]) {
		snprintf(path, sizeof(path), "%s/%s", ZK_LOCK_PATH, z->my_lock);
		(void)zk_multi_delete(m, path, -1);
		r->release = 1;
	}
	m->done = rs_done;
	m->arg = r;
	z->rs_inflight++;
	strlcpy_pvc(z->rs_sent, value, sizeof(z->rs_sent));
	zk_multi_commit(m);
}

/* The release (routerstate `secondary` + delete our contender) need not wait for the
 * answer to the `relinquish` write still in flight: ZooKeeper applies one session's
 * requests in order, so clients still see relinquish before secondary, and the
 * contender still goes only after net-router confirmed that the addresses are gone.
 * Not waiting saves one ZooKeeper round trip of every switchover (docs/election.md). */
static int rs_may_write(const struct zk_ctx *z, const char *target)
{
	if (z->rs_inflight == 0)
		return 1;
	return z->rs_inflight == 1 && strcmp(z->rs_sent, "relinquish") == 0 &&
	       strcmp(target, "secondary") == 0;
}

/* ---- net-router instructions --------------------------------------------------- */

static void net_send(struct zk_ctx *z)
{
	struct ipc_net_cmd c = {.epoch = ++z->epoch, .lease_until_ms = z->lease_until};

	z->net_sent_ms = mono_ms();
	if (!z->cfg->enable_networking) {
		/* no net-router: the router state is the only resource */
		z->net_have = z->net_want;
		zk_svc_sync(z);
		return;
	}
	if (!z->net_want)
		c.lease_until_ms = 0;
	zk_svc_sync(z); /* a relinquish: the services stop being primary now */
	(void)worker_send(z->w, z->net_want ? MSG_NET_TAKEOVER : MSG_NET_RELINQUISH, ROLE_NET, &c,
			  sizeof(c));
}

static void takeover_delay_timer(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	z->takeover_delay_timer = 0;
	z->takeover_delay_done = 1;
	evaluate(z);
}

static void instruct(struct zk_ctx *z, int desired)
{
	if (desired) {
		uint64_t d = takeover_delay(z);
		if (d && !z->takeover_delay_done) {
			if (!z->takeover_delay_timer)
				z->takeover_delay_timer = ev_timer(z->loop, d, takeover_delay_timer, z);
			return;
		}
		z->takeover_delay_done = 0;
		z->upstream_ip[0] = '\0'; /* republish it as the new primary */
		log_ok("taking over as primary coordinator");
		z->net_want = 1;
		if (!rs_is(z, "primary") && !rs_is(z, "takeover"))
			rs_write(z, "takeover", 0);
	} else {
		if (z->takeover_delay_timer) {
			ev_timer_cancel(z->loop, z->takeover_delay_timer);
			z->takeover_delay_timer = 0;
		}
		z->takeover_delay_done = 0;
		if (z->net_want == 1) {
			if (!zk_session_lease_valid(z))
				log_warnx("stepping down: ZooKeeper session lease lapsed");
			else
				log_info("relinquishing primary coordinator");
		}
		z->net_want = 0;
		if (rs_is(z, "primary") || rs_is(z, "takeover"))
			rs_write(z, "relinquish", 0);
	}
	net_send(z);
}

/* ---- version-checked writes of /primary_node ----------------------------------- */

static void contend_done(int rc, const struct Stat *stat, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;

	if (z->closing)
		return;
	z->contend_inflight = 0;
	if (rc == ZOK)
		log_ok("won the primary contention");
	else if (rc == ZBADVERSION)
		log_info("lost the primary contention (%s changed)", ZK_LOCK_PATH);
	else
		log_warnx("contention write: %s", zk_session_err(rc));
}

static void none_done(struct zk_ctx *z, int rc, struct zk_multi *m)
{
	z->none_inflight = 0;
	if (z->closing)
		return;
	if (rc == ZOK)
		log_warnx("wrote %s = none: the primary holds no lock", ZK_LOCK_PATH);
	else if (rc != ZBADVERSION)
		log_warnx("cannot reset %s: %s", ZK_LOCK_PATH, zk_session_err(rc));
}

/* The named primary lost its contender (dead) or never had one: make the
 * coordinators contend. Its routerstate goes to `secondary` in the same
 * transaction when it has one (as the reference's fencer does). */
static void write_none(struct zk_ctx *z, int with_routerstate)
{
	struct zk_multi *m;
	char path[ZK_NAME * 3];

	if (!zk_session_usable(z) || z->none_inflight || z->phase != 0)
		return;
	m = zk_multi_new(z);
	if (m == NULL)
		return;
	(void)zk_multi_set(m, ZK_LOCK_PATH, "none", z->primary_ver);
	if (with_routerstate && zk_values_node_name(z->primary)) {
		snprintf(path, sizeof(path), "/nodes/%s/routerstate", z->primary);
		(void)zk_multi_set(m, path, "secondary", -1);
	}
	log_warnx("primary %s holds no lock: resetting %s to none", z->primary, ZK_LOCK_PATH);
	m->done = none_done;
	z->none_inflight = 1;
	zk_multi_commit(m);
}

/* ---- evaluation ---------------------------------------------------------------- */

static int eligible_for_contention(const struct zk_ctx *z)
{
	return z->cfg->is_coordinator && z->phase == 0 && strcmp(z->daemonstate, "run") == 0 &&
	       !rs_is(z, "primary") && !rs_is(z, "takeover") && !rs_is(z, "relinquish") &&
	       z->net_want != 1 && mono_ms() >= z->none_hold_until;
}

static int want_lock(const struct zk_ctx *z)
{
	if (!z->cfg->is_coordinator || !may_hold(z))
		return 0;
	if (is_self(z, z->primary))
		return 1;
	return strcmp(z->primary, "none") == 0 && eligible_for_contention(z);
}

int zk_elect_lease_wanted(const struct zk_ctx *z)
{
	return z->net_want == 1 || z->my_lock[0] || z->lock_creating || want_lock(z);
}

static void evaluate(struct zk_ctx *z)
{
	int desired;
	const char *target;

	if (z->closing)
		return;
	zk_session_lease_kick(z);
	if (!z->cfg->is_coordinator) {
		if (zk_session_usable(z) && z->routerstate_known && z->registered && !rs_is(z, "client") &&
		    z->rs_inflight == 0)
			rs_write(z, "client", 0);
		return;
	}
	if (!z->synced && synced(z)) {
		z->synced = 1;
		log_info("election state synchronised: primary %s, %d contender(s), router state %s",
			 z->primary, z->ncont, z->routerstate);
	}
	desired = zk_elect_desired(z);
	zk_interop_note(z, z->synced && is_self(z, z->primary) && zk_lock_held(z) ?
				   zk_interop_blocker(z) : NULL);
	if (z->synced) {
		if (desired != z->net_want)
			instruct(z, desired);
	} else if (z->net_want == 1 && (!zk_session_lease_valid(z) || z->phase == 2)) {
		/* re-reading after a reconnect of the same session keeps the lock: only the
		 * lease (or a lost session, which clears it) or a shutdown end the primary */
		instruct(z, 0);
	}
	if (z->net_want == 1 && z->net_have != 1 && z->cfg->enable_networking &&
	    mono_ms() - z->net_sent_ms > NET_RESEND_MS)
		net_send(z); /* no (positive) ack: ask again */

	if (!zk_session_usable(z) || !z->synced || z->phase == 2)
		return;

	/* the router state follows net-router's acknowledgements */
	if (z->net_want == 1)
		target = z->net_have == 1 ? "primary" : NULL;
	else if (z->net_want == 0)
		target = z->net_have == 0 ? "secondary" : NULL;
	else
		target = NULL;
	if (target && rs_may_write(z, target) && !rs_is(z, target)) {
		int release = strcmp(target, "secondary") == 0 && z->my_lock[0] && !want_lock(z) &&
			      !z->lock_deleting && !z->lock_creating;
		rs_write(z, target, release);
		return;
	}

	/* our contender */
	if (want_lock(z)) {
		if (!z->my_lock[0])
			zk_lock_create(z);
	} else if (z->my_lock[0] && z->net_want == 0 && z->net_have == 0 && z->rs_inflight == 0 &&
		   rs_is(z, "secondary")) {
		zk_lock_release(z);
	}

	/* contention: the lowest contender names itself, if nobody wrote meanwhile */
	if (strcmp(z->primary, "none") == 0 && zk_lock_held(z) && eligible_for_contention(z) &&
	    !z->contend_inflight) {
		const char *me = self(z);
		log_info("contending for primary (version %d)", z->primary_ver);
		if (zoo_aset(z->zh, ZK_LOCK_PATH, me, (int)strlen(me), z->primary_ver, contend_done,
			     z) == ZOK)
			z->contend_inflight = 1;
	}
}

void zk_elect_evaluate(struct zk_ctx *z)
{
	evaluate(z);
	z->hooks->status(z);
}

static void hold_timer(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	z->hold_timer = 0;
	zk_elect_evaluate(z);
}

/* ---- /primary_node ------------------------------------------------------------- */

/* created between the failed get and the exists: read it now */
static void primary_exists_done(int rc, const struct Stat *stat, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;

	if (rc == ZOK && !z->closing) {
		zk_elect_primary_read(z);
		zk_lock_children(z);
	}
}

static void primary_done(int rc, const char *value, int len, const struct Stat *stat,
			 const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	char v[ZK_NAME] = "";

	if (z->closing)
		return;
	if (rc == ZNONODE) {
		/* a failed get leaves no watch: wait for its creation with exists */
		log_warnx("%s does not exist; waiting for it", ZK_LOCK_PATH);
		if (zk_session_usable(z) && zoo_awexists(z->zh, ZK_LOCK_PATH, zk_session_path_watcher, z, primary_exists_done, z) != ZOK)
			log_warnx("cannot watch %s", ZK_LOCK_PATH);
		return;
	}
	if (rc != ZOK || stat == NULL) {
		log_debug("%s: %s", ZK_LOCK_PATH, zk_session_err(rc));
		return;
	}
	if (value != NULL && len > 0 && len < ZK_NAME) {
		memcpy(v, value, (size_t)len);
		v[len] = '\0';
	}
	if (!zk_values_primary(v)) {
		log_warnx("%s holds garbage (%d bytes): treated as a node without lock",
			  ZK_LOCK_PATH, len);
		strlcpy_pvc(v, "?", sizeof(v));
	}
	if (!z->primary_known || strcmp(v, z->primary) != 0) {
		if (strcmp(v, "none") != 0)
			z->none_hold_until = 0; /* the hold concerns one contention only */
		if (strcmp(v, "none") == 0 && (z->net_want == 1 || rs_is(z, "primary"))) {
			/* `pvc node secondary <us>`: let the others win first */
			z->none_hold_until = mono_ms() + NONE_HOLD_MS;
			if (!z->hold_timer)
				z->hold_timer = ev_timer(z->loop, NONE_HOLD_MS + 10, hold_timer, z);
		}
		if (z->primary_known && strcmp(v, z->primary) != 0)
			log_info("primary coordinator is now %s (was %s)", v, z->primary);
		else if (!z->primary_known && strcmp(v, z->primary) != 0)
			log_info("primary coordinator is %s", v);
		z->missing_ticks = 0;
	}
	strlcpy_pvc(z->primary, v, sizeof(z->primary));
	z->primary_ver = stat->version;
	z->primary_known = 1;
	zk_elect_evaluate(z);
}

void zk_elect_primary_read(struct zk_ctx *z)
{
	int rc;

	if (!zk_session_usable(z))
		return;
	rc = zoo_awget(z->zh, ZK_LOCK_PATH, zk_session_path_watcher, z, primary_done, z);
	if (rc != ZOK)
		log_warnx("read %s: %s", ZK_LOCK_PATH, zk_session_err(rc));
}

static void routerstate_done(int rc, const char *value, int len, const struct Stat *stat,
			     const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	char v[16] = "";

	if (z->closing)
		return;
	if (rc == ZOK && value != NULL && len > 0 && len < (int)sizeof(v)) {
		memcpy(v, value, (size_t)len);
		v[len] = '\0';
	}
	if (rc == ZOK || rc == ZNONODE) {
		if (rc == ZOK && !zk_values_routerstate(v)) {
			char ex[64];

			log_warnx("/nodes/%s/routerstate: invalid value \"%s\" ignored; it will be rewritten",
				  z->cfg->node_name, zk_values_excerpt(value, len, ex, sizeof(ex)));
		}
		strlcpy_pvc(z->routerstate, zk_values_routerstate(v) ? v : "", sizeof(z->routerstate));
		z->routerstate_known = 1;
		zk_elect_evaluate(z);
	}
}

/* Watched re-reads of our own routerstate: we are its only writer, so any other
 * value (garbage, or a valid state written behind our back) is logged and our
 * state written again. */
static void routerstate_check_done(int rc, const char *value, int len, const struct Stat *stat,
				   const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	char v[16] = "", ex[64];

	if (z->closing || rc != ZOK || z->rs_inflight > 0 || !z->routerstate_known)
		return;
	if (value != NULL && len > 0 && len < (int)sizeof(v)) {
		memcpy(v, value, (size_t)len);
		v[len] = '\0';
	}
	if (len >= 0 && (size_t)len == strlen(z->routerstate) && strcmp(v, z->routerstate) == 0)
		return;
	if (!zk_values_routerstate(v) || (size_t)len >= sizeof(v))
		log_warnx("/nodes/%s/routerstate: invalid value \"%s\"; writing %s again",
			  z->cfg->node_name, zk_values_excerpt(value, len, ex, sizeof(ex)),
			  z->routerstate[0] ? z->routerstate : "(pending)");
	else
		log_warnx("/nodes/%s/routerstate: changed to %s behind our back; writing %s again",
			  z->cfg->node_name, v, z->routerstate[0] ? z->routerstate : "(pending)");
	if (z->routerstate[0])
		rs_write(z, z->routerstate, 0);
}

void zk_elect_rs_event(struct zk_ctx *z)
{
	char path[ZK_NAME * 3];

	if (!zk_session_usable(z))
		return;
	snprintf(path, sizeof(path), "/nodes/%s/routerstate", self(z));
	if (zoo_awget(z->zh, path, zk_session_path_watcher, z, routerstate_check_done, z) != ZOK)
		log_warnx("cannot read own router state");
	else
		z->rs_watch = 1;
}

void zk_elect_connected(struct zk_ctx *z)
{
	char path[ZK_NAME * 3];

	/* fresh reads before any decision on this connection */
	z->primary_known = 0;
	z->children_known = 0;
	z->synced = 0;
	z->contend_inflight = 0;
	z->none_inflight = 0;
	z->rs_inflight = 0;
	z->rs_watch = 0;
	zk_elect_primary_read(z);
	zk_lock_children(z);
	zk_interop_connected(z);
	if (!z->registered && !z->resumed)
		return; /* registration writes the router state */
	z->routerstate_known = 0;
	snprintf(path, sizeof(path), "/nodes/%s/routerstate", self(z));
	if (zoo_awget(z->zh, path, zk_session_path_watcher, z, routerstate_done, z) != ZOK)
		log_warnx("cannot read own router state");
	else
		z->rs_watch = 1;
}

void zk_elect_lock_changed(struct zk_ctx *z, int owner_vanished)
{
	if (owner_vanished && z->cfg->is_coordinator && !is_self(z, z->primary) &&
	    zk_values_node_name(z->primary))
		write_none(z, 1);
	zk_elect_evaluate(z);
}

/* A new session (or an expired one): every lock held is lost. */
void zk_elect_session_lost(struct zk_ctx *z)
{
	if (z->my_lock[0])
		log_warnx("lock contender %s lost with the session", z->my_lock);
	zk_lock_forget(z);
	z->primary_known = 0;
	z->routerstate_known = 0;
	z->registered = 0;
	z->ds_known = 0;
	z->synced = 0;
	z->lease_until = 0;
	evaluate(z);
}

void zk_elect_lease_lapsed(struct zk_ctx *z)
{
	zk_elect_evaluate(z);
}

void zk_elect_lease_renewed(struct zk_ctx *z)
{
	if (z->net_want == 1 && z->cfg->enable_networking) {
		struct ipc_net_cmd c = {.epoch = z->epoch, .lease_until_ms = z->lease_until};
		(void)worker_send(z->w, MSG_NET_LEASE, ROLE_NET, &c, sizeof(c));
	}
	/* a renewal may make us desired (first answer after connect/reconnect) */
	if (z->net_want != 1)
		zk_elect_evaluate(z);
}

void zk_elect_net_ack(struct zk_ctx *z, const struct ipc_net_ack *ack)
{
	char msg[sizeof(ack->msg) + 1];

	memcpy(msg, ack->msg, sizeof(ack->msg));
	msg[sizeof(ack->msg)] = '\0';
	if (ack->epoch != z->epoch) {
		log_debug("stale net-router ack (epoch %llu, current %llu)",
			  (unsigned long long)ack->epoch, (unsigned long long)z->epoch);
		return;
	}
	if (ack->primary != 0 && ack->primary != 1) {
		log_warnx("net-router ack with invalid primary flag %d ignored", (int)ack->primary);
		return;
	}
	if (ack->error != 0)
		log_warnx("net-router: %s (error %d)", msg, (int)ack->error);
	z->net_have = ack->primary;
	zk_svc_sync(z);
	if (z->phase == 2 && z->net_have == 0 && z->p2_timer) {
		/* shutdown phase 2 waits for exactly this: go on now */
		ev_timer_cancel(z->loop, z->p2_timer);
		z->p2_timer = ev_timer(z->loop, 0, shutdown_poll, z);
	}
	if (z->net_have == 1 && z->net_want != 1) {
		/* crossed instructions: resources came up although we no longer want them */
		net_send(z);
	}
	zk_elect_evaluate(z);
}

void zk_elect_net_hello(struct zk_ctx *z)
{
	if (!z->cfg->is_coordinator || !z->cfg->enable_networking)
		return;
	if (z->net_want < 0)
		z->net_want = 0;
	z->net_have = -1;
	net_send(z);
}

void zk_elect_tick(struct zk_ctx *z)
{
	/* registration wrote our routerstate without a watch: arm it once */
	if (!z->rs_watch && z->registered && z->routerstate_known && zk_session_usable(z))
		zk_elect_rs_event(z);
	if (!z->cfg->is_coordinator || !z->synced || !zk_session_usable(z) || z->phase != 0) {
		z->missing_ticks = 0;
		return;
	}
	/* /primary_node names a node (or garbage) that holds no contender; a
	 * reference daemon acting as primary never holds one (interop.c) */
	if (strcmp(z->primary, "none") != 0 && !is_self(z, z->primary) && zk_lock_all_known(z) &&
	    !zk_lock_owner_present(z, z->primary) && !zk_interop_acting(z, z->primary)) {
		if (++z->missing_ticks >= 2) {
			z->missing_ticks = 0;
			write_none(z, 0);
		}
	} else {
		z->missing_ticks = 0;
	}
	zk_elect_evaluate(z);
}

/* ---- shutdown phase 2 ---------------------------------------------------------- */

static void (*shutdown_cb)(struct zk_ctx *z);

static void shutdown_finish(struct zk_ctx *z)
{
	void (*cb)(struct zk_ctx *) = shutdown_cb;

	shutdown_cb = NULL;
	if (z->p2_timer) {
		ev_timer_cancel(z->loop, z->p2_timer);
		z->p2_timer = 0;
	}
	if (cb)
		cb(z);
}

static void shutdown_multi(struct zk_ctx *z, int with_primary);

static void shutdown_multi_done(struct zk_ctx *z, int rc, struct zk_multi *m)
{
	int with_primary = m->arg != NULL;

	if (z->closing && rc != ZOK) {
		shutdown_finish(z);
		return;
	}
	if (rc == ZOK) {
		strlcpy_pvc(z->routerstate, "secondary", sizeof(z->routerstate));
		z->my_lock[0] = '\0';
		log_info("released primary resources and lock%s",
			 with_primary ? "; /primary_node is none" : "");
		shutdown_finish(z);
	} else if (rc == ZNONODE && z->p2_had_lock) {
		/* our contender vanished first (its create and our release crossed, or the
		 * plain delete of phase 1 landed and already cleared my_lock): still release
		 * /primary_node, or it keeps naming a stopped node */
		log_warnx("shutdown release: our contender is gone already; releasing without it");
		z->my_lock[0] = '\0';
		shutdown_multi(z, with_primary);
	} else if (with_primary) {
		log_warnx("shutdown release with %s = none failed (%s); retrying without it",
			  ZK_LOCK_PATH, zk_session_err(rc));
		shutdown_multi(z, 0);
	} else {
		log_warnx("shutdown release failed: %s", zk_session_err(rc));
		shutdown_finish(z);
	}
}

/* ONE transaction: routerstate secondary, `none` if it still names us, no contender. */
static void shutdown_multi(struct zk_ctx *z, int with_primary)
{
	struct zk_multi *m = zk_multi_new(z);
	char path[ZK_NAME * 3];

	if (m == NULL) {
		shutdown_finish(z);
		return;
	}
	snprintf(path, sizeof(path), "/nodes/%s/routerstate", self(z));
	(void)zk_multi_set(m, path, "secondary", -1);
	if (with_primary)
		(void)zk_multi_set(m, ZK_LOCK_PATH, "none", z->primary_ver);
	z->p2_had_lock = z->my_lock[0] != '\0';
	if (z->p2_had_lock) {
		snprintf(path, sizeof(path), "%s/%s", ZK_LOCK_PATH, z->my_lock);
		(void)zk_multi_delete(m, path, -1);
	}
	m->done = shutdown_multi_done;
	m->arg = with_primary ? z : NULL;
	zk_multi_commit(m);
}

static void shutdown_poll(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	z->p2_timer = 0;
	z->p2_step++;
	/* wait for net-router's ack (up to 5 s), then release in ZooKeeper */
	if (z->net_have == 1 && z->p2_step < 100) {
		z->p2_timer = ev_timer(loop, 50, shutdown_poll, z);
		return;
	}
	if (z->net_have == 1)
		log_warnx("net-router did not confirm the relinquish within 5 s");
	if (!zk_session_usable(z)) {
		shutdown_finish(z);
		return;
	}
	shutdown_multi(z, z->primary_known && is_self(z, z->primary));
}

void zk_elect_shutdown(struct zk_ctx *z, void (*done)(struct zk_ctx *z))
{
	shutdown_cb = done;
	if (!z->cfg->is_coordinator) {
		shutdown_finish(z);
		return;
	}
	evaluate(z); /* phase 2: not desired any more -> NET_RELINQUISH */
	if (!z->my_lock[0] && !rs_is(z, "primary") && !rs_is(z, "takeover") &&
	    !rs_is(z, "relinquish") && z->net_have != 1 &&
	    !(z->primary_known && is_self(z, z->primary))) {
		shutdown_finish(z);
		return;
	}
	z->p2_step = 0;
	z->p2_timer = ev_timer(z->loop, 0, shutdown_poll, z);
}
