/*
 * net_lease.c: DHCP lease events from net-router's lease socket (issue #9,
 * ref §7.6) written under /networks/<vni>/dhcp4_leases/<mac>.
 *
 * MSG_NET_LEASE_EVENT [reqid, action, vni, mac, ip, hostname, expiry, clientid]
 * is answered with MSG_NET_LEASE_REPLY [reqid, rc, lines...]. Only the primary
 * writes leases (it runs the dnsmasq that hands them out). Differences from the
 * reference helper, on purpose: `add` is an upsert and `old` refreshes expiry and
 * hostname; both write the lease node and its four children in ONE transaction,
 * built after reading what exists (create or set per node), retried once if the
 * tree changed in between. Events for the same lease run one after the other in
 * arrival order (enqueue()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease_proto.h"
#include "log.h"
#include "netdef.h"
#include "zk_internal.h"
#include "zk_nets_int.h"

static const char *const lfield[4] = {"expiry", "ipaddr", "hostname", "clientid"};

struct lease_entry {
	char mac[18];
	char *f[4];
};

struct lease_op {
	struct zk_ctx *z;
	char reqid[65];
	struct lease_req r;
	char base[64];   /* /networks/<vni>/dhcp4_leases */
	char node[96];   /* base/<mac> */
	int retried;
	int container;   /* base exists */
	int exists;      /* node exists */
	int have[4];     /* node's field children that exist */
	char **extra;    /* del: every child of the node, whatever its name */
	int nextra;
	/* init */
	struct lease_entry *e;
	size_t ne;
	int pending;
	int failed_rc;   /* a read failed: a partial lease list must not reach dnsmasq */
	/* the list of zk_networks_lease_ops(), in arrival order */
	struct lease_op *next;
	int listed, waiting;
};

static void start(struct lease_op *op);

static void reply(struct zk_ctx *z, const char *reqid, int rc, const char *const *lines,
		  size_t n)
{
	const char **v = calloc(n + 2, sizeof(*v));
	char rcs[16];

	snprintf(rcs, sizeof(rcs), "%d", rc);
	if (v == NULL) {
		log_errx("lease %s: out of memory replying", reqid);
		return;
	}
	v[0] = reqid;
	v[1] = rcs;
	for (size_t i = 0; i < n; i++)
		v[i + 2] = lines[i];
	if (worker_send_strv(z->w, MSG_NET_LEASE_REPLY, ROLE_NET, v, (uint32_t)(n + 2)) != 0)
		log_warn("lease %s: sending the reply to net-router", reqid);
	free(v);
}

static void op_free(struct lease_op *op)
{
	for (int i = 0; i < op->nextra; i++)
		free(op->extra[i]);
	free(op->extra);
	for (size_t i = 0; i < op->ne; i++)
		for (int j = 0; j < 4; j++)
			free(op->e[i].f[j]);
	free(op->e);
	free(op);
}

static int same_lease(const struct lease_op *a, const struct lease_op *b)
{
	return a->r.vni == b->r.vni && strcmp(a->r.mac, b->r.mac) == 0;
}

/*
 * Started together, two events for one MAC (an `add` and a `del` back to back)
 * would each read the tree before the other's transaction: the `del` finds
 * nothing and succeeds, then the `add` creates the lease, and ZooKeeper ends up
 * with a lease dnsmasq has already released. So an event waits for the one
 * before it on the same lease; `init` reads only and is never held.
 */
static void enqueue(struct lease_op *op)
{
	struct lease_op **pp = zk_networks_lease_ops(op->z);
	int busy = 0;

	for (; *pp != NULL; pp = &(*pp)->next)
		if (op->r.action != LEASE_INIT && (*pp)->r.action != LEASE_INIT && same_lease(*pp, op))
			busy = 1;
	*pp = op;
	op->listed = 1;
	op->waiting = busy;
	if (!busy)
		start(op);
}

/* Unlink a finished operation, free it, and start the next event of its lease. */
static void release(struct lease_op *op)
{
	struct lease_op **pp = zk_networks_lease_ops(op->z), *next = NULL;

	if (op->listed) {
		while (*pp != NULL && *pp != op)
			pp = &(*pp)->next;
		if (*pp == op)
			*pp = op->next;
		for (next = *zk_networks_lease_ops(op->z); next != NULL; next = next->next)
			if (next->waiting && same_lease(next, op))
				break;
	}
	op_free(op);
	if (next != NULL) {
		next->waiting = 0;
		start(next);
	}
}

static void finish(struct lease_op *op, int rc)
{
	const struct lease_req *r = &op->r;

	if (rc == ZOK && r->action == LEASE_DEL)
		log_info("lease del %s %s on network %u: removed from ZooKeeper [event %s]", r->mac,
			 r->ip, r->vni, op->reqid);
	else if (rc == ZOK)
		log_info("lease %s %s %s on network %u: written to ZooKeeper (expiry %llu, hostname "
			 "'%s', clientid %s) [event %s]", lease_action_name(r->action), r->mac, r->ip,
			 r->vni, (unsigned long long)r->expiry, r->hostname, r->clientid, op->reqid);
	else
		log_warnx("lease %s %s %s on network %u failed: %s [event %s]",
			  lease_action_name(r->action), r->mac, r->ip, r->vni, zk_session_err(rc), op->reqid);
	reply(op->z, op->reqid, rc, NULL, 0);
	/* the DNS aggregator (coordinators with networking) refreshes its zones now
	 * rather than at its next 10 s round; losing this only delays the record */
	if (rc == ZOK && config_role_wanted(op->z->cfg, ROLE_DNS) &&
	    worker_send(op->z->w, MSG_DNS_LEASES, ROLE_DNS, NULL, 0) != 0)
		log_debug("lease: cannot tell dns-aggregator");
	release(op);
}

/* ---- add / old / del: one transaction ---------------------------------------------- */

static void multi_done(struct zk_ctx *z, int rc, struct zk_multi *m)
{
	struct lease_op *op = m->arg;

	(void)z;
	if ((rc == ZNODEEXISTS || rc == ZNONODE || rc == ZNOTEMPTY) && !op->retried) {
		/* the tree changed between our read and the transaction */
		op->retried = 1;
		log_info("lease %s %s: %s, retrying once", lease_action_name(op->r.action), op->r.mac,
			 zk_session_err(rc));
		start(op);
		return;
	}
	finish(op, rc);
}

static void commit(struct lease_op *op)
{
	struct zk_multi *m = zk_multi_new(op->z);
	const struct lease_req *r = &op->r;
	char path[128], exp[24];
	const char *val[4];

	if (m == NULL) {
		finish(op, ZSYSTEMERROR);
		return;
	}
	m->done = multi_done;
	m->arg = op;
	if (r->action == LEASE_DEL) {
		for (int i = 0; i < op->nextra; i++) {
			snprintf(path, sizeof(path), "%s/%s", op->node, op->extra[i]);
			(void)zk_multi_delete(m, path, -1);
		}
		(void)zk_multi_delete(m, op->node, -1);
		zk_multi_commit(m);
		return;
	}
	snprintf(exp, sizeof(exp), "%llu", (unsigned long long)r->expiry);
	val[0] = exp;
	val[1] = r->ip;
	val[2] = r->hostname;
	val[3] = r->clientid;
	if (!op->container)
		(void)zk_multi_create(m, op->base, "", 0);
	if (!op->exists)
		(void)zk_multi_create(m, op->node, "", 0);
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", op->node, lfield[i]);
		if (op->exists && op->have[i])
			(void)zk_multi_set(m, path, val[i], -1);
		else
			(void)zk_multi_create(m, path, val[i], 0);
	}
	zk_multi_commit(m);
}

static void node_children_done(int rc, const struct String_vector *sv, const void *data)
{
	struct lease_op *op = (struct lease_op *)data;

	if (rc == ZNONODE) {
		op->exists = 0;
		if (op->r.action == LEASE_DEL) {
			finish(op, ZOK); /* already gone */
			return;
		}
		commit(op);
		return;
	}
	if (rc != ZOK) {
		finish(op, rc);
		return;
	}
	op->exists = 1;
	if (sv->count > 0 && (op->extra = calloc((size_t)sv->count, sizeof(char *))) == NULL) {
		finish(op, ZSYSTEMERROR);
		return;
	}
	for (int i = 0; i < sv->count; i++) {
		for (int j = 0; j < 4; j++)
			if (strcmp(sv->data[i], lfield[j]) == 0)
				op->have[j] = 1;
		if ((op->extra[op->nextra] = strdup(sv->data[i])) == NULL) {
			finish(op, ZSYSTEMERROR);
			return;
		}
		op->nextra++;
	}
	commit(op);
}

static void base_exists_done(int rc, const struct Stat *stat, const void *data)
{
	struct lease_op *op = (struct lease_op *)data;

	(void)stat;
	if (rc == ZNONODE) {
		op->container = 0;
		op->exists = 0;
		if (op->r.action == LEASE_DEL) {
			finish(op, ZOK);
			return;
		}
		commit(op);
		return;
	}
	if (rc != ZOK) {
		finish(op, rc);
		return;
	}
	op->container = 1;
	if (!zk_session_usable(op->z) ||
	    zoo_aget_children(op->z->zh, op->node, 0, node_children_done, op) != ZOK)
		finish(op, ZCONNECTIONLOSS);
}

/* ---- init: every lease of the network ----------------------------------------------- */

static void init_reply(struct lease_op *op)
{
	const char **lines;
	char (*buf)[LEASE_LINE_MAX];
	size_t n = 0;

	if (op->failed_rc != ZOK) {
		finish(op, op->failed_rc);
		return;
	}
	lines = calloc(op->ne + 1, sizeof(*lines));
	buf = calloc(op->ne + 1, sizeof(*buf));

	if (lines == NULL || buf == NULL) {
		free(lines);
		free(buf);
		finish(op, ZSYSTEMERROR);
		return;
	}
	for (size_t i = 0; i < op->ne; i++) {
		const struct lease_entry *e = &op->e[i];
		uint64_t exp;
		if (e->f[0] == NULL || e->f[1] == NULL || lease_parse_expiry(e->f[0], &exp) < 0 ||
		    lease_line_format(exp, e->mac, e->f[1], e->f[2] ? e->f[2] : "",
				      e->f[3] && e->f[3][0] ? e->f[3] : "*", buf[n],
				      sizeof(buf[n])) < 0) {
			log_warnx("lease %s/%s: incomplete or invalid, not passed to dnsmasq", op->base,
				  e->mac);
			continue;
		}
		lines[n] = buf[n];
		n++;
	}
	log_info("lease init on network %u: %zu lease(s) from ZooKeeper", op->r.vni, n);
	reply(op->z, op->reqid, ZOK, lines, n);
	free(lines);
	free(buf);
	release(op);
}

struct field_ref {
	struct lease_op *op;
	size_t i;
	int j;
};

static void field_done(int rc, const char *value, int len, const struct Stat *stat,
		       const void *data)
{
	struct field_ref *fr = (struct field_ref *)data;
	struct lease_op *op = fr->op;

	(void)stat;
	if (rc != ZOK && rc != ZNONODE && op->failed_rc == ZOK)
		op->failed_rc = rc;
	if (rc == ZOK && value != NULL && len >= 0 && len < 1024 && memchr(value, '\0', (size_t)len) == NULL) {
		char *s = malloc((size_t)len + 1);
		if (s != NULL) {
			memcpy(s, value, (size_t)len);
			s[len] = '\0';
			op->e[fr->i].f[fr->j] = s;
		}
	} else if (rc == ZOK && len < 0) {
		op->e[fr->i].f[fr->j] = strdup("");
	}
	free(fr);
	if (--op->pending == 0)
		init_reply(op);
}

static void leases_done(int rc, const struct String_vector *sv, const void *data)
{
	struct lease_op *op = (struct lease_op *)data;
	char path[128];

	if (rc == ZNONODE) {
		init_reply(op);
		return;
	}
	if (rc != ZOK) {
		finish(op, rc);
		return;
	}
	if (sv->count > 0 && (op->e = calloc((size_t)sv->count, sizeof(*op->e))) == NULL) {
		finish(op, ZSYSTEMERROR);
		return;
	}
	for (int i = 0; i < sv->count; i++) {
		if (!lease_valid_mac(sv->data[i])) {
			log_warnx("lease %s/%.32s: not a MAC address, ignored", op->base, sv->data[i]);
			continue;
		}
		strlcpy_pvc(op->e[op->ne++].mac, sv->data[i], 18);
	}
	op->pending = 1; /* held until every read is sent */
	for (size_t i = 0; i < op->ne; i++)
		for (int j = 0; j < 4; j++) {
			struct field_ref *fr = malloc(sizeof(*fr));
			if (fr == NULL) {
				op->failed_rc = ZSYSTEMERROR;
				continue;
			}
			fr->op = op;
			fr->i = i;
			fr->j = j;
			snprintf(path, sizeof(path), "%s/%s/%s", op->base, op->e[i].mac, lfield[j]);
			op->pending++;
			if (!zk_session_usable(op->z) ||
			    zoo_aget(op->z->zh, path, 0, field_done, fr) != ZOK) {
				op->failed_rc = ZCONNECTIONLOSS;
				op->pending--;
				free(fr);
			}
		}
	if (--op->pending == 0)
		init_reply(op);
}

/* ---- entry ---------------------------------------------------------------------- */

static void start(struct lease_op *op)
{
	int rc;

	op->container = op->exists = 0;
	memset(op->have, 0, sizeof(op->have));
	for (int i = 0; i < op->nextra; i++)
		free(op->extra[i]);
	free(op->extra);
	op->extra = NULL;
	op->nextra = 0;
	if (!zk_session_usable(op->z)) {
		finish(op, ZCONNECTIONLOSS);
		return;
	}
	if (op->r.action == LEASE_INIT)
		rc = zoo_aget_children(op->z->zh, op->base, 0, leases_done, op);
	else
		rc = zoo_aexists(op->z->zh, op->base, 0, base_exists_done, op);
	if (rc != ZOK)
		finish(op, rc);
}

/* The router state string alone is not enough: it keeps its last value across a
 * lost session (routerstate_known is cleared, the text is not), while another
 * node may already be primary. */
static int is_primary(const struct zk_ctx *z)
{
	return zk_elect_desired(z) ||
	       (z->routerstate_known && zk_lock_held(z) &&
		(strcmp(z->routerstate, "primary") == 0 || strcmp(z->routerstate, "takeover") == 0));
}

static int reqid_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (s[n] <= ' ' || s[n] >= 0x7f)
			return 0;
	return n > 0 && n < 65;
}

void zk_net_lease_event(struct zk_ctx *z, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;
	char why[256];
	struct lease_op *op;
	const struct netdef *d;
	const char *reqid;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
		log_warnx("lease event: malformed payload: %s", err ? err : "?");
		return;
	}
	if (sv.n < 1 || !reqid_ok(sv.v[0])) {
		log_warnx("lease event: refused: invalid reqid field");
		ipc_strv_free(&sv);
		return;
	}
	reqid = sv.v[0];
	if (sv.n != 8) {
		log_warnx("lease event %s: refused: %u fields instead of 8", reqid, sv.n);
		reply(z, reqid, LEASE_RC_REFUSED, NULL, 0);
		ipc_strv_free(&sv);
		return;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		reply(z, reqid, ZSYSTEMERROR, NULL, 0);
		ipc_strv_free(&sv);
		return;
	}
	op->z = z;
	strlcpy_pvc(op->reqid, reqid, sizeof(op->reqid));
	if (lease_req_from_fields((const char *const *)sv.v + 1, &op->r, why, sizeof(why)) < 0) {
		log_warnx("lease event %s: refused: %s", op->reqid, why);
		goto refuse;
	}
	if (!z->cfg->enable_networking || !is_primary(z)) {
		log_warnx("lease event %s: refused: this node is not the primary (routerstate '%s')",
			  op->reqid, z->routerstate);
		goto refuse;
	}
	d = zk_networks_find(z, op->r.vni);
	if (d == NULL || !d->managed) {
		log_warnx("lease event %s: refused: vni %u is not a valid managed network", op->reqid,
			  op->r.vni);
		goto refuse;
	}
	/* del stays possible for an address the network no longer contains: a lease
	 * left behind by a renumbering must still be removable */
	if (op->r.action == LEASE_ADD || op->r.action == LEASE_OLD) {
		char e2[128];
		struct netdef tmp;
		/* ip inside ip4_network: let netdef judge it like a reservation */
		netdef_init(&tmp, d->vni);
		tmp.managed = 1;
		tmp.net4 = d->net4;
		if (netdef_add_res(&tmp, op->r.mac, op->r.ip, "", e2, sizeof(e2)) < 0 ||
		    netdef_validate(&tmp, e2, sizeof(e2)) < 0) {
			netdef_clear(&tmp);
			log_warnx("lease event %s: refused: ip %s is not a host address of network %u (%s)",
				  op->reqid, op->r.ip, op->r.vni, d->net4.set ? d->net4.text : "None");
			goto refuse;
		}
		netdef_clear(&tmp);
	}
	ipc_strv_free(&sv);
	snprintf(op->base, sizeof(op->base), "/networks/%u/dhcp4_leases", op->r.vni);
	snprintf(op->node, sizeof(op->node), "%s/%s", op->base, op->r.mac);
	enqueue(op);
	return;
refuse:
	ipc_strv_free(&sv);
	reply(z, op->reqid, LEASE_RC_REFUSED, NULL, 0);
	op_free(op);
}
