/*
 * networks_send.c: the raw values read by networks.c -> network definitions
 * (netdef), validated one by one, and the complete valid set -> MSG_NET_NETWORKS,
 * sent only when it changed (issue #9; see networks.c for the whole picture).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netdef.h"
#include "zk_internal.h"
#include "zk_nets_int.h"

#define SEND_DELAY_MS 10

static void report(struct zn_net *n, const char *err)
{
	if (err == NULL) {
		if (!n->reported || n->err != NULL)
			log_info("network %s: %s network valid%s%s", n->name,
				 n->def.managed ? "managed" : "bridged", n->def.net4.set ? ", " : "",
				 n->def.net4.set ? n->def.net4.text : "");
		free(n->err);
		n->err = NULL;
		n->reported = 1;
		return;
	}
	if (n->reported && n->err != NULL && strcmp(n->err, err) == 0)
		return;
	if (n->valid)
		log_warnx("network %s: invalid change ignored, keeping its last valid definition: %s",
			  n->name, err);
	else
		log_warnx("network %s skipped: %s", n->name, err);
	free(n->err);
	n->err = strdup(err);
	n->reported = 1;
}

/* The definition from the raw values: 0, or -1 with err. */
static int build(const struct zn_net *n, struct netdef *d, char *err, size_t errlen)
{
	netdef_init(d, n->vni);
	if (n->vni == 0) {
		snprintf(err, errlen, "vni: the name is not a VNI in 1..16777215");
		return -1;
	}
	if (n->val[K_NETTYPE] == NULL) {
		snprintf(err, errlen, "nettype: missing");
		return -1;
	}
	for (int k = 0; k < NKEYS; k++)
		if (n->val[k] != NULL && netdef_set_key(d, zn_keyname[k], n->val[k], err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < n->nch[C_RES]; i++) {
		const struct zn_child *c = &n->ch[C_RES][i];
		if (netdef_add_res(d, c->name, c->val[1] ? c->val[1] : "", c->val[0], err,
				   errlen) < 0)
			return -1;
	}
	for (int k = C_IN; k <= C_OUT; k++)
		for (size_t i = 0; i < n->nch[k]; i++) {
			const struct zn_child *c = &n->ch[k][i];
			if (netdef_add_acl(d, k == C_OUT, c->name, c->val[0] ? c->val[0] : "",
					   c->val[1] ? c->val[1] : "", err, errlen) < 0)
				return -1;
		}
	return netdef_validate(d, err, errlen);
}

/*
 * A network that never was valid is skipped. One that was valid and receives a
 * bad change keeps its last valid definition: tearing down a network (and the
 * connectivity of its VMs) because of a typo in one key would be worse than
 * applying the change late, once it is fixed.
 */
static void rebuild(struct zn_net *n)
{
	struct netdef d;
	char err[320];

	if (build(n, &d, err, sizeof(err)) < 0) {
		netdef_clear(&d);
		report(n, err);
		return;
	}
	netdef_clear(&n->def);
	n->def = d;
	n->valid = 1;
	report(n, NULL);
}

/* The same set to the DNS aggregator (coordinators with networking run it): a
 * zone per network domain; a lost frame is re-sent on its MSG_SVC_HELLO. */
static void send_dns(struct zk_ctx *z, const uint8_t *p, size_t len)
{
	if (config_role_wanted(z->cfg, ROLE_DNS) &&
	    worker_send(z->w, MSG_NET_NETWORKS, ROLE_DNS, p, len) != 0)
		log_warn("networks: sending the networks to dns-aggregator");
}

void zk_networks_send_now(struct zk_ctx *z)
{
	struct zk_nets *nn = z->nets;
	struct ipc_strv_buf b;
	const uint8_t *p;
	size_t len = 0, nvalid = 0, nbad = 0, total = 0;
	const char *stopped = NULL;
	char list[1024];
	size_t lo = 0;

	for (size_t i = 0; i < nn->n; i++)
		rebuild(nn->net[i]);
	strvb_init(&b);
	list[0] = '\0';
	for (size_t i = 0; i < nn->n; i++) {
		if (!nn->net[i]->valid) {
			nbad++;
			continue;
		}
		size_t at = b.len ? b.len : 4; /* the builder reserves the count first */
		uint64_t h = 1469598103934665603ull; /* FNV-1a of the record: logs real changes */
		total++;
		if (stopped != NULL)
			continue; /* only counted, for the error below */
		if (netdef_encode(&nn->net[i]->def, &b) < 0) {
			stopped = nn->net[i]->name;
			continue;
		}
		for (size_t k = at; k < b.len; k++)
			h = (h ^ b.data[k]) * 1099511628211ull;
		if (nn->net[i]->hash != 0 && nn->net[i]->hash != h) {
			const struct netdef *d = &nn->net[i]->def;
			log_info("network %s: definition changed (%s, %s gw %s, %zu reservation(s), "
				 "%zu+%zu ACL(s))", nn->net[i]->name, d->managed ? "managed" : "bridged",
				 d->net4.set ? d->net4.text : "no IPv4", d->gw4.set ? d->gw4.text : "None",
				 d->nres, d->nacl_in, d->nacl_out);
		}
		nn->net[i]->hash = h;
		nvalid++;
		if (lo + 12 < sizeof(list))
			lo += (size_t)snprintf(list + lo, sizeof(list) - lo, "%s%s", lo ? " " : "",
					       nn->net[i]->name);
	}
	p = strvb_finish(&b, &len);
	if (p == NULL || len > IPC_MAX_PAYLOAD) {
		/* Sending part of the set would make net-router tear down the rest:
		 * keeping its previous set is the lesser harm until the set shrinks. */
		log_errx("networks: the %zu valid network(s) do not fit in one MSG_NET_NETWORKS "
			 "frame (at most %u bytes, %u strings): network %s and the %zu after it did "
			 "not fit (%zu bytes, %u strings encoded); not sent, net-router keeps the "
			 "previous set", total, IPC_MAX_PAYLOAD, IPC_STRV_MAX,
			 stopped != NULL ? stopped : "?", stopped != NULL ? total - nvalid - 1 : 0,
			 b.len, b.count);
		strvb_free(&b);
		return;
	}
	if (!nn->force && nn->sent_once && len == nn->lastlen &&
	    (len == 0 || memcmp(p, nn->last, len) == 0)) {
		strvb_free(&b);
		return; /* a change that made no difference to the valid set */
	}
	if (worker_send(z->w, MSG_NET_NETWORKS, ROLE_NET, p, len) != 0) {
		log_warn("networks: sending %zu networks to net-router", nvalid);
		strvb_free(&b);
		return;
	}
	send_dns(z, p, len);
	log_info("networks: sent %zu valid network(s) [%s%s] to net-router, %zu skipped", nvalid,
		 list, lo + 12 >= sizeof(list) ? " ..." : "", nbad);
	free(nn->last);
	nn->last = malloc(len ? len : 1);
	nn->lastlen = nn->last ? len : 0;
	if (nn->last && len)
		memcpy(nn->last, p, len);
	nn->sent_once = nn->last != NULL;
	nn->force = 0;
	nn->dirty = 0;
	strvb_free(&b);
}

static void send_timer(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;
	struct zk_nets *nn = z->nets;

	(void)loop;
	nn->timer = 0;
	if (!nn->listed || nn->outstanding > 0)
		return; /* the last completion re-arms */
	if (nn->dirty || nn->force)
		zk_networks_send_now(z);
}

void zk_networks_send_arm(struct zk_ctx *z)
{
	struct zk_nets *nn = z->nets;

	if (nn->timer == 0 && (nn->dirty || nn->force))
		nn->timer = ev_timer(z->loop, SEND_DELAY_MS, send_timer, z);
}

