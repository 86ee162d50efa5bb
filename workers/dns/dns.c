/*
 * dns.c: the dns-aggregator worker (issue 17; the reference's DNSAggregatorInstance).
 * On the primary coordinator it runs pdns_server (pdns.c) against the DNS database
 * and keeps that database's zones in step with the managed client networks (db.c):
 * one zone per network domain, filled by AXFR from the network's dnsmasq
 * (axfr_net.c) every DNS_SYNC_MS and soon after the networks change.
 *
 * zk-election tells it whether this node is primary (MSG_SVC_PRIMARY, after
 * MSG_SVC_HELLO) and what the client networks are (MSG_NET_NETWORKS, the frame
 * net-router gets). pdns starts first on takeover (it serves the rows already in
 * the database, so a switchover answers at once) and the database work follows.
 * A database outage is logged once, retried with backoff and never stops pdns,
 * which keeps answering what it can; the election never waits for any of this.
 */
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_int.h"
#include "log.h"
#include "netdef.h"
#include "sandbox.h"
#include "worker.h"

#define DNS_SYNC_MS 10000     /* the reference's AXFR loop period */
#define DNS_LEASE_MS 200    /* after a lease: dnsmasq has it, a burst is one round */
#define DNS_SOON_MS 50        /* after a change of the primary state or the networks */
#define DNS_BACKOFF_MIN_MS 1000
#define DNS_BACKOFF_MAX_MS 30000
#define DNS_REAP_MS 500
#define DNS_PDNS_STABLE_MS 10000
#define DNS_AXFR_TIMEOUT_MS 1500 /* one step of a round: under the hang timeout */
#define DNS_DB_STEP_MS 2000   /* the database calls of one step: under the hang timeout */
#define DNS_AXFR_RETRY_MS 1000 /* a transfer failed: right after a takeover, dnsmasq
				 * is often still starting */

struct dns_ctx {
	struct worker *w;
	int primary;
	struct dns_pdns pdns;
	struct dns_db *db;
	struct dns_net *nets;
	size_t nnets;
	int nets_known; /* a first MSG_NET_NETWORKS came: before it, an empty set would
			 * prune every zone */
	uint64_t sync_timer, reap_timer;
	int backoff_ms;
	int db_down;  /* an outage was logged */
	int restart_ms, restart_due; /* pdns restart backoff */
	int axfr_failed; /* in this round: the next one comes sooner */
	uint64_t sync_due; /* mono_ms() when sync_timer fires */
	int again;       /* a lease came during a round: the next round follows soon */
	size_t pos;      /* the round's step: 0 database, i = network i-1 */
	int phase;       /* of that network: 0 zone row, 1 transfer, 2 store */
	struct dns_zone pending; /* transferred, not yet stored */
	char last_err[512];
};

static void dns_sync_cb(struct ev_loop *loop, void *arg);

static void dns_status(struct dns_ctx *c)
{
	char a[64], b[64], d[64];
	const char *kv[3] = {a, b, d};

	snprintf(a, sizeof a, "primary=%d", c->primary);
	snprintf(b, sizeof b, "pdns=%s", c->pdns.pid > 0 ? "running" : "stopped");
	snprintf(d, sizeof d, "database=%s", c->db_down ? "unreachable" : "ok");
	(void)worker_status(c->w, kv, 3);
}

static void dns_sync_at(struct dns_ctx *c, uint64_t ms)
{
	if (c->sync_timer)
		ev_timer_cancel(c->w->loop, c->sync_timer);
	c->sync_timer = ev_timer(c->w->loop, ms, dns_sync_cb, c);
	/* without it the zones would never sync again: a new worker will */
	if (c->sync_timer == 0)
		fatalx("DNS aggregator: cannot arm the sync timer (out of memory)");
	c->sync_due = mono_ms() + ms;
}

/* The next step within ms: brought forward, never pushed back (a storm of leases
 * must not postpone a round). */
static void dns_sync_within(struct dns_ctx *c, uint64_t ms)
{
	if (c->sync_timer && c->sync_due <= mono_ms() + ms)
		return;
	dns_sync_at(c, ms);
}

/* pdns died while we are primary: start it again, after a delay that doubles while
 * it keeps dying young (it exits when the database is down at its start). */
static void dns_reap_cb(struct ev_loop *loop, void *arg)
{
	struct dns_ctx *c = arg;
	uint64_t next = DNS_REAP_MS;
	long long ran = 0;

	c->reap_timer = 0;
	if (c->restart_due) {
		c->restart_due = 0;
		if (c->primary && c->pdns.pid <= 0) {
			if (dns_pdns_start(&c->pdns, &c->w->cfg) != 0) {
				c->restart_due = 1;
				next = DNS_BACKOFF_MIN_MS;
			}
			dns_status(c);
		}
	} else if (dns_pdns_reap(&c->pdns, &ran) && c->primary) {
		c->restart_ms = ran > DNS_PDNS_STABLE_MS ? DNS_REAP_MS : c->restart_ms * 2;
		if (c->restart_ms < DNS_REAP_MS)
			c->restart_ms = DNS_REAP_MS;
		if (c->restart_ms > DNS_BACKOFF_MAX_MS)
			c->restart_ms = DNS_BACKOFF_MAX_MS;
		log_info("pdns: restarting PowerDNS in %d ms", c->restart_ms);
		c->restart_due = 1;
		next = (uint64_t)c->restart_ms;
		dns_status(c);
	}
	if (c->primary || c->pdns.pid > 0)
		c->reap_timer = ev_timer(loop, next, dns_reap_cb, c);
}

/* Back to the start of a round (a failure, a new network list, relinquish). */
static void dns_round_reset(struct dns_ctx *c)
{
	c->pos = 0;
	c->phase = 0;
	c->again = 0;
	dns_axfr_zone_free(&c->pending);
}

static void dns_db_failed(struct dns_ctx *c)
{
	const char *e = dns_db_error(c->db);

	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : DNS_BACKOFF_MIN_MS;
	if (c->backoff_ms > DNS_BACKOFF_MAX_MS)
		c->backoff_ms = DNS_BACKOFF_MAX_MS;
	if (!c->db_down || strcmp(e, c->last_err) != 0)
		log_warnx("DNS aggregator: %s; pdns keeps serving, retrying in %d ms", e,
			  c->backoff_ms);
	snprintf(c->last_err, sizeof c->last_err, "%s", e);
	c->db_down = 1;
	dns_db_reset(c->db);
	dns_round_reset(c);
	dns_status(c);
	dns_sync_at(c, (uint64_t)c->backoff_ms);
}

/* One step of a network: 0 create its zone if missing, 1 transfer it, 2 store it.
 * An AXFR failure (dnsmasq restarting) only skips the network this round: 0. A
 * database error: -1. */
static int dns_step_net(struct dns_ctx *c, struct dns_net *n)
{
	char err[256];
	int changed;

	if (c->phase == 0) {
		if (dns_db_zone_ensure(c->db, n, c->w->cfg.upstream.domain) != 0)
			return -1;
		c->phase = 1;
		return 0;
	}
	if (c->phase == 1) {
		if (dns_axfr_fetch(n->server, n->domain, DNS_AXFR_TIMEOUT_MS, &c->pending, err,
				   sizeof err) == 0) {
			n->axfr_err[0] = '\0';
			c->phase = 2;
			return 0;
		}
		if (strcmp(err, n->axfr_err) != 0) /* once per distinct error */
			log_warnx("DNS aggregator: zone %s: transfer from %s: %s; retrying", n->domain,
				  n->server, err);
		snprintf(n->axfr_err, sizeof n->axfr_err, "%s", err);
		c->axfr_failed = 1;
	} else {
		int rc = dns_db_zone_sync(c->db, n->domain, &c->pending, &changed);
		if (rc != 0)
			return -1;
		if (changed)
			log_info("DNS aggregator: zone %s updated (%zu records from %s, %zu skipped)",
				 n->domain, c->pending.n, n->server, c->pending.skipped);
	}
	dns_axfr_zone_free(&c->pending);
	c->phase = 0;
	c->pos++;
	return 0;
}

static void dns_round_done(struct dns_ctx *c)
{
	uint64_t next = c->again ? DNS_LEASE_MS : c->axfr_failed ? DNS_AXFR_RETRY_MS : DNS_SYNC_MS;

	if (c->db_down)
		log_info("DNS aggregator: the DNS database is reachable again");
	c->db_down = 0;
	c->backoff_ms = 0;
	dns_round_reset(c);
	dns_status(c);
	dns_sync_at(c, next);
}

/*
 * A round is cut in steps, one timer callback each, so that the loop answers the
 * supervisor's heartbeat (hang_timeout_ms, 3.2 s by default) between them: each
 * step blocks at most DNS_DB_STEP_MS in libpq calls (db.c) or one transfer
 * (axfr_net.c, DNS_AXFR_TIMEOUT_MS).
 * Step 0: connect, schema, prune; then three per network (dns_step_net).
 */
static void dns_sync_cb(struct ev_loop *loop, void *arg)
{
	struct dns_ctx *c = arg;

	c->sync_timer = 0;
	if (!c->primary || !c->nets_known)
		return; /* the arrival of the networks schedules the first round */
	dns_db_deadline(c->db, DNS_DB_STEP_MS);
	if (c->pos == 0) {
		c->axfr_failed = 0;
		if (dns_db_ready(c->db) != 0 || dns_db_zones_prune(c->db, c->nets, c->nnets) != 0) {
			dns_db_failed(c);
			return;
		}
		c->pos = 1;
	} else if (c->pos - 1 >= c->nnets) {
		dns_round_done(c);
		return;
	} else if (dns_step_net(c, &c->nets[c->pos - 1]) != 0) {
		dns_db_failed(c);
		return;
	}
	dns_sync_at(c, 0);
}

static void dns_primary(struct dns_ctx *c, struct ipc_msg *m)
{
	struct ipc_svc_primary p;

	if (m->hdr.len != sizeof p)
		return;
	memcpy(&p, m->data, sizeof p);
	int want = p.primary ? 1 : 0;
	if (want == c->primary)
		return;
	c->primary = want;
	log_info("DNS aggregator: %s (epoch %llu)", want ? "primary: starting" : "relinquishing: stopping",
		 (unsigned long long)p.epoch);
	if (want) {
		c->restart_ms = 0;
		/* a failed start (pdns.conf not written, fork) is retried by the reap timer */
		c->restart_due = dns_pdns_start(&c->pdns, &c->w->cfg) != 0;
		if (!c->reap_timer)
			c->reap_timer = ev_timer(c->w->loop, DNS_REAP_MS, dns_reap_cb, c);
		c->backoff_ms = 0;
		dns_sync_at(c, 0);
	} else {
		if (c->sync_timer)
			ev_timer_cancel(c->w->loop, c->sync_timer);
		c->sync_timer = 0;
		dns_round_reset(c);
		dns_pdns_stop(&c->pdns);
		dns_db_reset(c->db);
	}
	dns_status(c);
}

/* The managed networks with a domain and a gateway for dnsmasq. */
static void dns_networks(struct dns_ctx *c, struct ipc_msg *m)
{
	struct ipc_strv sv;
	const char *err = NULL;
	struct netdef *defs = NULL;
	size_t n = 0, k = 0;

	if (ipc_strv_decode(m->data, m->hdr.len, &sv, &err) != 0) {
		log_warnx("DNS aggregator: ignoring malformed network list: %s", err ? err : "?");
		return;
	}
	int rc = netdef_decode(&sv, &defs, &n, NULL, NULL);
	ipc_strv_free(&sv);
	if (rc != 0) {
		log_warnx("DNS aggregator: ignoring a network list that is not a sequence of records");
		return;
	}
	struct dns_net *nets = calloc(n + 1, sizeof *nets);
	for (size_t i = 0; nets && i < n; i++) {
		const struct netdef *d = &defs[i];
		const struct netdef_addr *gw = d->gw4.set ? &d->gw4 : &d->gw6;
		struct dns_net *x = &nets[k];
		/* a trailing dot ("net.example.") would never match the transfer's owner
		 * names: the zone is stored and queried without it */
		if (!d->managed || !gw->set ||
		    dns_axfr_zone_name(d->domain, x->domain, sizeof x->domain) != 0)
			continue;
		k++;
		x->vni = d->vni;
		snprintf(x->server, sizeof x->server, "%s", gw->text);
		x->server[strcspn(x->server, "/")] = '\0';
		snprintf(x->ns, sizeof x->ns, "%s", d->ns);
	}
	netdef_free_all(defs, n);
	if (nets == NULL) {
		log_errx("DNS aggregator: out of memory for %zu networks", n);
		return;
	}
	free(c->nets);
	c->nets = nets;
	c->nnets = k;
	c->nets_known = 1;
	dns_round_reset(c); /* indexes into the old list are void */
	log_info("DNS aggregator: %zu client network zone(s)", k);
	/* a database outage keeps its backoff (its timer starts the next round) */
	if (c->primary && (!c->db_down || c->sync_timer == 0))
		dns_sync_at(c, DNS_SOON_MS);
}

/* MSG_DNS_LEASES: a DHCP lease changed; its record reaches pdns in one round. */
static void dns_leases(struct dns_ctx *c)
{
	if (!c->primary || !c->nets_known || c->db_down)
		return; /* a database outage keeps its backoff */
	if (c->pos > 0) {
		/* mid-round: its network may be transferred already; the round goes on
		 * at its pace and the next one follows DNS_LEASE_MS after it */
		c->again = 1;
		return;
	}
	dns_sync_within(c, DNS_LEASE_MS);
}

static void dns_dispatch(struct worker *w, struct ipc_msg *m)
{
	struct dns_ctx *c = w->ctx;

	if (m->hdr.sender == ROLE_ZK && m->hdr.type == MSG_SVC_PRIMARY)
		dns_primary(c, m);
	else if (m->hdr.sender == ROLE_ZK && m->hdr.type == MSG_NET_NETWORKS)
		dns_networks(c, m);
	else if (m->hdr.sender == ROLE_ZK && m->hdr.type == MSG_DNS_LEASES)
		dns_leases(c);
	else
		log_warnx("DNS aggregator: %s from %s ignored", ipc_type_name(m->hdr.type),
			  role_name(m->hdr.sender));
}

static void dns_shutdown(struct worker *w, uint32_t phase)
{
	struct dns_ctx *c = w->ctx;

	c->primary = 0;
	if (c->sync_timer)
		ev_timer_cancel(w->loop, c->sync_timer);
	c->sync_timer = 0;
	dns_pdns_stop(&c->pdns);
	worker_shutdown_done(w, phase);
}

int dns_aggregator_main(void)
{
	static struct worker w;
	static struct dns_ctx c;
	static const char *const ro[] = {"/etc", "/usr/share/pdns-backend-pgsql", "/proc", NULL};
	static const char *const rx[] = {"/usr/sbin/pdns_server", "/usr/lib", "/lib", "/lib64", NULL};
	static char sockdir[CFG_PATH_MAX + 16];
	const char *rw[] = {sockdir, "/dev/null", NULL};
	struct sandbox_spec spec;

	worker_start(&w, ROLE_DNS, dns_dispatch, dns_shutdown, &c);
	c.w = &w;
	c.db = dns_db_new(&w.cfg);
	/* the config copy is all that still holds the password: pdns.conf is written
	 * from it at each takeover */
	if (c.db == NULL || set_cloexec(w.sup.fd) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	dns_pdns_sockdir(&w.cfg, sockdir, sizeof sockdir);
	memset(&spec, 0, sizeof spec);
	spec.user = w.cfg.worker_user[0] ? w.cfg.worker_user : NULL;
	/* CAP_NET_BIND_SERVICE, ambient: for pdns_server's port 53 only (pdns.c) */
	spec.keep_caps = 1ULL << CAP_NET_BIND_SERVICE;
	spec.ambient_caps = 1ULL << CAP_NET_BIND_SERVICE;
	spec.allow_fork = 1;
	spec.rw_paths = rw;
	spec.ro_paths = ro;
	spec.rx_paths = rx;
	spec.seccomp_rules = dns_seccomp_rules;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	worker_ready(&w);
	dns_status(&c);
	if (worker_send(&w, MSG_SVC_HELLO, ROLE_ZK, NULL, 0) != 0)
		log_warnx("DNS aggregator: cannot say hello to zk-election");
	int rc = worker_run(&w);
	dns_pdns_stop(&c.pdns);
	dns_db_free(c.db);
	return rc;
}
