/*
 * primary.c: primary addresses under a lifetime, refreshed only while
 * zk-election vouches for its ZooKeeper session (docs/net-router.md).
 *
 * Every address is added with valid = preferred lifetime L = 1 s and re-added
 * (create-or-replace) every 250 ms. If this process, or the whole daemon, dies, the
 * kernel itself removes the addresses within L + 1 s: nothing has to run for the
 * fail-safe to work.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <sys/socket.h>

#include "log.h"
#include "net_garp.h"
#include "net_host.h"
#include "net_primary.h"
#include "pvc.h"

/* ---- pure parts --------------------------------------------------------------- */

int net_primary_lease_ok(uint64_t now, uint64_t lease_until_ms)
{
	return now < lease_until_ms;
}

int net_primary_lease_plausible(uint64_t now, uint64_t lease_until_ms)
{
	return lease_until_ms <= now + NETP_LEASE_MAX_AHEAD_MS;
}

uint64_t net_primary_next_tick_ms(uint64_t now, int primary, uint64_t lease_until_ms)
{
	if (primary && lease_until_ms > now && lease_until_ms - now < NETP_REFRESH_MS)
		return lease_until_ms - now;
	if (primary && lease_until_ms <= now)
		return 0;
	return NETP_REFRESH_MS;
}

uint64_t net_primary_linger_until_ms(uint64_t t)
{
	return t + (uint64_t)NETP_LIFETIME_S * 1000u + NETP_KERNEL_SLACK_MS;
}

static int parse_gw(const char *val, int family, struct nl_addr *out, int *has)
{
	char buf[64];
	const char *slash = strchr(val, '/');
	long long pfx;
	int maxp = family == AF_INET ? 32 : 128;

	if (strcmp(val, "None") == 0) {
		*has = 0;
		return 0;
	}
	if (!slash || (size_t)(slash - val) >= sizeof(buf))
		return -1;
	memcpy(buf, val, (size_t)(slash - val));
	buf[slash - val] = '\0';
	memset(out, 0, sizeof(*out));
	out->family = family;
	if (inet_pton(family, buf, out->addr) != 1)
		return -1;
	/* a /0 or host-only "network" cannot carry clients */
	if (parse_ll(slash + 1, 1, maxp - 1, &pfx) != 0)
		return -1;
	out->prefix = (int)pfx;
	if (family == AF_INET &&
	    (out->addr[0] == 0 || out->addr[0] >= 224 || out->addr[0] == 127))
		return -1;
	if (family == AF_INET6 &&
	    (out->addr[0] == 0xff || IN6_IS_ADDR_UNSPECIFIED((struct in6_addr *)out->addr) ||
	     IN6_IS_ADDR_LOOPBACK((struct in6_addr *)out->addr)))
		return -1;
	*has = 1;
	return 0;
}

int net_primary_parse_network(const char *entry, struct netp_net *out, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *tok;
	int seen_vni = 0, seen4 = 0, seen6 = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(entry) >= sizeof(buf)) {
		snprintf(err, errlen, "network entry too long");
		return -1;
	}
	strcpy(buf, entry);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		long long v;

		if (!eq) {
			snprintf(err, errlen, "network entry: \"%.40s\" is not key=value", tok);
			return -1;
		}
		*eq++ = '\0';
		if (strcmp(tok, "vni") == 0 && !seen_vni) {
			if (parse_ll(eq, 1, 16777215, &v) != 0) {
				snprintf(err, errlen, "network entry: invalid vni \"%.40s\"", eq);
				return -1;
			}
			out->vni = (uint32_t)v;
			seen_vni = 1;
		} else if (strcmp(tok, "gw4") == 0 && !seen4) {
			if (parse_gw(eq, AF_INET, &out->gw4, &out->has4) != 0) {
				snprintf(err, errlen, "network entry: invalid IPv4 gateway \"%.60s\"", eq);
				return -1;
			}
			seen4 = 1;
		} else if (strcmp(tok, "gw6") == 0 && !seen6) {
			if (parse_gw(eq, AF_INET6, &out->gw6, &out->has6) != 0) {
				snprintf(err, errlen, "network entry: invalid IPv6 gateway \"%.60s\"", eq);
				return -1;
			}
			seen6 = 1;
		} else {
			snprintf(err, errlen, "network entry: unknown or repeated key \"%.30s\"", tok);
			return -1;
		}
	}
	if (!seen_vni) {
		snprintf(err, errlen, "network entry without vni");
		return -1;
	}
	return 0;
}

/* ---- the address set ------------------------------------------------------------ */

/* Record a problem: the first errno is kept, every message is appended (as far as
 * it fits) so that an acknowledgement names all refused values. */
static void first_err(int *code, char *msg, size_t msglen, int e, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void first_err(int *code, char *msg, size_t msglen, int e, const char *fmt, ...)
{
	va_list ap;
	size_t used;

	if (*code == 0) {
		*code = e;
		msg[0] = '\0';
	}
	used = strnlen(msg, msglen);
	if (used && used + 3 < msglen) {
		memcpy(msg + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= msglen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg + used, msglen - used, fmt, ap);
	va_end(ap);
}

static int same_addr(const struct nl_addr *x, const struct nl_addr *y)
{
	size_t n = x->family == AF_INET ? 4 : 16;

	return x->family == y->family && x->prefix == y->prefix && x->ifindex == y->ifindex &&
	       memcmp(x->addr, y->addr, n) == 0;
}

struct want {
	struct netp_target v[NETP_MAX_TARGETS];
	size_t n;
};

static void want_add(struct want *w, const char *dev, const char *what, const struct nl_addr *a)
{
	struct netp_target *t;

	if (w->n >= NETP_MAX_TARGETS)
		return;
	t = &w->v[w->n++];
	memset(t, 0, sizeof(*t));
	snprintf(t->dev, sizeof(t->dev), "%s", dev);
	snprintf(t->what, sizeof(t->what), "%s", what);
	t->a = *a;
	t->a.valid_lft = t->a.pref_lft = NETP_LIFETIME_S;
	/* IPv6: usable at once; duplicate detection would keep the gateway tentative
	 * (the reference turns accept_dad off on these bridges for the same reason) */
	t->a.flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
}

static void want_cfg(struct want *w, const struct pvc_config *cfg, enum net_if which,
		     const struct cfg_network *net, const char *what)
{
	struct nl_addr a;
	const char *br = net_host_bridge(cfg, which);

	if (!net->floating_ip.set || !br)
		return;
	memset(&a, 0, sizeof(a));
	a.family = net->floating_ip.family;
	memcpy(a.addr, net->floating_ip.addr, sizeof(a.addr));
	a.prefix = net->floating_ip.prefix >= 0 ? net->floating_ip.prefix : net->network.prefix;
	if (a.prefix < 0)
		a.prefix = a.family == AF_INET ? 32 : 128;
	want_add(w, br, what, &a);
}

/* Everything that belongs to the primary, devices resolved. Targets whose device
 * is missing are left out and reported. */
static int want_build(struct netp *p, struct want *w, int *code, char *msg, size_t msglen)
{
	static const uint8_t meta[4] = {169, 254, 169, 254};
	const struct pvc_config *cfg = p->cfg;
	struct nl_addr a;
	size_t i, o;
	char dev[16], what[48];

	w->n = 0;
	want_cfg(w, cfg, NET_IF_UPSTREAM, &cfg->upstream, "upstream floating IP");
	want_cfg(w, cfg, NET_IF_CLUSTER, &cfg->cluster, "cluster floating IP");
	want_cfg(w, cfg, NET_IF_STORAGE, &cfg->storage, "storage floating IP");
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	memcpy(a.addr, meta, 4);
	a.prefix = 32;
	want_add(w, "lo", "metadata address", &a);
	for (i = 0; i < p->nnets; i++) {
		snprintf(dev, sizeof(dev), "vmbr%u", p->nets[i].vni);
		snprintf(what, sizeof(what), "gateway of network %u", p->nets[i].vni);
		if (p->nets[i].has6)
			want_add(w, dev, what, &p->nets[i].gw6);
		if (p->nets[i].has4)
			want_add(w, dev, what, &p->nets[i].gw4);
	}
	/* resolve devices, once per name */
	for (i = 0, o = 0; i < w->n; i++) {
		struct netp_target *t = &w->v[i];
		struct nl_link l;
		size_t j;
		int rc = 1;

		for (j = 0; j < o; j++) {
			if (strcmp(w->v[j].dev, t->dev) == 0) {
				t->a.ifindex = w->v[j].a.ifindex;
				memcpy(t->mac, w->v[j].mac, sizeof(t->mac));
				t->maclen = w->v[j].maclen;
				rc = 0;
				break;
			}
		}
		if (rc != 0) {
			rc = net_netlink_link_query(&p->nl, t->dev, &l);
			if (rc != 0) {
				char as[64];
				first_err(code, msg, msglen, -rc, "%s %s: device %s: %s", t->what,
					  net_nlmsg_addr_str(&t->a, as, sizeof(as)), t->dev,
					  rc == -ENODEV ? "no such device" : strerror(-rc));
				continue;
			}
			t->a.ifindex = l.ifindex;
			memcpy(t->mac, l.mac, sizeof(t->mac));
			t->maclen = l.maclen == 6 ? 6 : 0;
		}
		if (o != i)
			w->v[o] = *t;
		o++;
	}
	w->n = o;
	return 0;
}

static int held_has(const struct netp *p, const struct nl_addr *a)
{
	for (size_t i = 0; i < p->nheld; i++)
		if (same_addr(&p->held[i].a, a))
			return 1;
	return 0;
}

/* Make the kernel hold exactly `w`: add (or refresh) each, drop what we held
 * before and is no longer wanted. Returns 1 if every wanted address is present. */
static int apply(struct netp *p, struct want *w, int *code, char *msg, size_t msglen)
{
	static struct netp_target keep[NETP_MAX_TARGETS];
	size_t nkeep = 0, i, j;
	int all = 1;
	char as[64];

	for (i = 0; i < w->n; i++) {
		int rc = net_netlink_addr_set(&p->nl, &w->v[i].a);
		if (rc != 0) {
			first_err(code, msg, msglen, -rc, "%s %s on %s: %s%s%s", w->v[i].what,
				  net_nlmsg_addr_str(&w->v[i].a, as, sizeof(as)), w->v[i].dev,
				  strerror(-rc), p->nl.err[0] ? ": " : "", p->nl.err);
			all = 0;
			continue;
		}
		keep[nkeep] = w->v[i];
		keep[nkeep++].fresh = !held_has(p, &w->v[i].a);
	}
	for (i = 0; i < p->nheld; i++) {
		int wanted = 0;
		for (j = 0; j < nkeep && !wanted; j++)
			wanted = same_addr(&keep[j].a, &p->held[i].a);
		if (!wanted) {
			int rc = net_netlink_addr_del(&p->nl, &p->held[i].a);
			if (rc != 0)
				first_err(code, msg, msglen, -rc, "removing %s %s from %s: %s",
					  p->held[i].what,
					  net_nlmsg_addr_str(&p->held[i].a, as, sizeof(as)),
					  p->held[i].dev, strerror(-rc));
		}
	}
	memcpy(p->held, keep, nkeep * sizeof(keep[0]));
	p->nheld = nkeep;
	return all;
}

static int remove_all(struct netp *p, int *code, char *msg, size_t msglen)
{
	static struct want w;
	int dummy = 0;
	char dmsg[8], as[64];
	size_t i;

	/* also what we should hold but may not know we do (a restart, a lost ack) */
	(void)want_build(p, &w, &dummy, dmsg, sizeof(dmsg));
	for (i = 0; i < p->nheld; i++) {
		int rc = net_netlink_addr_del(&p->nl, &p->held[i].a);
		if (rc != 0)
			first_err(code, msg, msglen, -rc, "removing %s %s from %s: %s",
				  p->held[i].what, net_nlmsg_addr_str(&p->held[i].a, as, sizeof(as)),
				  p->held[i].dev, strerror(-rc));
	}
	for (i = 0; i < w.n; i++) {
		int rc;
		if (held_has(p, &w.v[i].a))
			continue;
		rc = net_netlink_addr_del(&p->nl, &w.v[i].a);
		if (rc != 0)
			first_err(code, msg, msglen, -rc, "removing %s %s from %s: %s",
				  w.v[i].what, net_nlmsg_addr_str(&w.v[i].a, as, sizeof(as)),
				  w.v[i].dev, strerror(-rc));
	}
	p->nheld = 0;
	p->primary = 0;
	return *code;
}

/* ---- operations ---------------------------------------------------------------- */

int net_primary_open(struct netp *p, const struct pvc_config *cfg)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->pkt = -1;
	rc = net_netlink_open(&p->nl);
	if (rc != 0)
		return rc;
	p->pkt = net_garp_open();
	if (p->pkt < 0) {
		rc = p->pkt;
		net_netlink_close(&p->nl);
		p->pkt = -1;
		return rc;
	}
	return 0;
}

void net_primary_close(struct netp *p)
{
	net_netlink_close(&p->nl);
	if (p->pkt >= 0)
		close(p->pkt);
	p->pkt = -1;
}

static int announce(struct netp *p, int only_fresh)
{
	int sent = 0, lasterr = 0, tried = 0;

	for (size_t i = 0; i < p->nheld; i++) {
		const struct netp_target *t = &p->held[i];
		if (t->maclen != 6 || (only_fresh && !t->fresh))
			continue;
		for (int k = 0; k < GARP_BURST; k++) {
			int rc = net_garp_send(p->pkt, t->a.ifindex, t->mac, t->a.family, t->a.addr);
			tried++;
			if (rc == 0)
				sent++;
			else
				lasterr = rc;
		}
	}
	if (lasterr) {
		snprintf(p->last_error, sizeof(p->last_error), "announcement failed: %s",
			 strerror(-lasterr));
		if (sent == 0 && tried > 0)
			return lasterr;
	}
	return sent;
}

int net_primary_announce(struct netp *p)
{
	return announce(p, 0);
}

int net_primary_takeover(struct netp *p, uint64_t lease_until_ms, int *primary, char *msg,
			 size_t msglen)
{
	static struct want w;
	uint64_t now = mono_ms();
	int code = 0, all, r;

	msg[0] = '\0';
	if (!net_primary_lease_plausible(now, lease_until_ms)) {
		snprintf(msg, msglen, "implausible lease deadline %llu (now %llu)",
			 (unsigned long long)lease_until_ms, (unsigned long long)now);
		*primary = p->primary;
		return EINVAL;
	}
	if (!net_primary_lease_ok(now, lease_until_ms)) {
		/* adding addresses now would outlive the session we are vouched for */
		char dmsg[8];
		int dc = 0;
		(void)remove_all(p, &dc, dmsg, sizeof(dmsg));
		snprintf(msg, msglen, "lease already expired %llu ms ago",
			 (unsigned long long)(now - lease_until_ms));
		*primary = 0;
		return ETIMEDOUT;
	}
	p->lease_until_ms = lease_until_ms;
	(void)want_build(p, &w, &code, msg, msglen);
	all = apply(p, &w, &code, msg, msglen);
	if (p->nets_code)
		first_err(&code, msg, msglen, p->nets_code, "%s", p->nets_err);
	/* a repeated takeover only refreshes: what was announced already is not again */
	r = announce(p, p->primary);
	p->primary = 1;
	p->refresh_failing = 0;
	if (r < 0)
		first_err(&code, msg, msglen, -r, "announcement: %s", strerror(-r));
	*primary = all;
	if (code)
		snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	return code;
}

int net_primary_relinquish(struct netp *p, char *msg, size_t msglen)
{
	int code = 0;

	msg[0] = '\0';
	(void)remove_all(p, &code, msg, msglen);
	if (code)
		snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	return code;
}

int net_primary_tick(struct netp *p, uint64_t now)
{
	char as[64];
	int failed = 0;

	if (!p->primary)
		return 0;
	if (!net_primary_lease_ok(now, p->lease_until_ms)) {
		char msg[256];
		int code = 0;
		size_t n = p->nheld;

		(void)remove_all(p, &code, msg, sizeof(msg));
		log_warnx("session lease lapsed %llu ms ago: removed %zu primary addresses%s%s",
			  (unsigned long long)(now - p->lease_until_ms), n, code ? "; " : "",
			  code ? msg : "");
		snprintf(p->last_error, sizeof(p->last_error), "session lease lapsed");
		return 1;
	}
	for (size_t i = 0; i < p->nheld; i++) {
		int rc = net_netlink_addr_set(&p->nl, &p->held[i].a);
		if (rc != 0) {
			failed++;
			snprintf(p->last_error, sizeof(p->last_error), "refresh of %s %s on %s: %s",
				 p->held[i].what, net_nlmsg_addr_str(&p->held[i].a, as, sizeof(as)),
				 p->held[i].dev, strerror(-rc));
		}
	}
	if (failed && !p->refresh_failing)
		log_errx("%s", p->last_error);
	else if (!failed && p->refresh_failing)
		log_info("primary addresses refreshed again");
	p->refresh_failing = failed != 0;
	return 0;
}

int net_primary_set_networks(struct netp *p, const char *const *v, uint32_t n, char *err,
			     size_t errlen)
{
	static struct netp_net nets[NETP_MAX_NETS];
	size_t nn = 0;
	int code = 0, rc;
	char e[200];

	err[0] = '\0';
	for (uint32_t i = 0; i < n; i++) {
		if (nn >= NETP_MAX_NETS) {
			first_err(&code, err, errlen, E2BIG, "more than %d managed networks",
				  NETP_MAX_NETS);
			break;
		}
		if (net_primary_parse_network(v[i], &nets[nn], e, sizeof(e)) != 0) {
			log_warnx("ignoring %s", e);
			first_err(&code, err, errlen, EINVAL, "%s", e);
			continue;
		}
		nn++;
	}
	rc = net_primary_set_nets(p, nets, nn, code, err, errlen);
	return code ? code : rc;
}

int net_primary_set_nets(struct netp *p, const struct netp_net *nets, size_t nn, int refused,
			 char *err, size_t errlen)
{
	static struct want w;
	int code = refused;

	if (!refused)
		err[0] = '\0';
	if (nn > NETP_MAX_NETS) {
		first_err(&code, err, errlen, E2BIG, "more than %d networks with gateways",
			  NETP_MAX_NETS);
		nn = NETP_MAX_NETS;
	}
	memmove(p->nets, nets, nn * sizeof(nets[0]));
	p->nnets = nn;
	/* refused entries are named again in every takeover acknowledgement */
	p->nets_code = code;
	snprintf(p->nets_err, sizeof(p->nets_err), "%s", code ? err : "");
	if (p->primary && !net_primary_lease_ok(mono_ms(), p->lease_until_ms)) {
		/* lapsed, not yet noticed by the tick: adding now would outlive the
		 * lease; the tick removes everything next */
	} else if (p->primary) {
		(void)want_build(p, &w, &code, err, errlen);
		(void)apply(p, &w, &code, err, errlen);
		(void)announce(p, 1);
	} else {
		char as[64];
		int dummy = 0;
		char dmsg[8];

		(void)want_build(p, &w, &dummy, dmsg, sizeof(dmsg));
		for (size_t i = 0; i < w.n; i++) {
			int rc = net_netlink_addr_del(&p->nl, &w.v[i].a);
			if (rc != 0)
				first_err(&code, err, errlen, -rc, "removing %s %s: %s",
					  w.v[i].what, net_nlmsg_addr_str(&w.v[i].a, as, sizeof(as)),
					  strerror(-rc));
		}
	}
	if (code)
		snprintf(p->last_error, sizeof(p->last_error), "%s", err);
	return code;
}

/* A gateway of a previous run, before the network list is known: only we add
 * addresses to vmbr<vni> bridges with a lifetime as short as ours. */
static int is_our_gateway(struct netp *p, const struct nl_addr *a)
{
	struct nl_link l;

	if (a->valid_lft == NL_LFT_FOREVER || a->valid_lft > NETP_LIFETIME_S + 1)
		return 0;
	if (net_netlink_link_query_index(&p->nl, a->ifindex, &l) != 0)
		return 0;
	return strncmp(l.name, "vmbr", 4) == 0;
}

int net_primary_reconcile(struct netp *p)
{
	static struct want w;
	struct nl_addr *dump = NULL;
	size_t n = 0, i, j;
	int rc, removed = 0, dummy = 0;

	char dmsg[8], as[64];

	(void)want_build(p, &w, &dummy, dmsg, sizeof(dmsg));
	rc = net_netlink_addr_dump(&p->nl, AF_UNSPEC, &dump, &n);
	if (rc != 0)
		return rc;
	for (i = 0; i < n; i++) {
		const char *what = NULL;

		for (j = 0; j < w.n && !what; j++) {
			size_t len = dump[i].family == AF_INET ? 4 : 16;
			/* wherever it sits, with whatever prefix: it is ours to remove */
			if (dump[i].family == w.v[j].a.family &&
			    memcmp(dump[i].addr, w.v[j].a.addr, len) == 0)
				what = w.v[j].what;
		}
		if (!what && is_our_gateway(p, &dump[i]))
			what = "gateway address";
		if (!what)
			continue;
		rc = net_netlink_addr_del(&p->nl, &dump[i]);
		if (rc != 0) {
			log_warnx("cannot remove leftover %s %s: %s", what,
				  net_nlmsg_addr_str(&dump[i], as, sizeof(as)), strerror(-rc));
		} else {
			log_info("removed leftover %s %s", what,
				 net_nlmsg_addr_str(&dump[i], as, sizeof(as)));
			removed++;
		}
	}
	free(dump);
	p->nheld = 0;
	p->primary = 0;
	return removed;
}
