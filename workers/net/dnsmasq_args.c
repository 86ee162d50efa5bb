/*
 * dnsmasq_args.c: dnsmasq's argument vector and reservation lines (ref §7.5,
 * §7.6): pure, unit-tested in tests/unit/test_net_clients.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net_dnsmasq.h"

struct av {
	char **argv;
	size_t max, n;
	char *store;
	size_t cap, used;
	int over;
};

static void add(struct av *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct av *a, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (a->over || a->n + 1 >= a->max) {
		a->over = 1;
		return;
	}
	va_start(ap, fmt);
	r = vsnprintf(a->store + a->used, a->cap - a->used, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= a->cap - a->used) {
		a->over = 1;
		return;
	}
	a->argv[a->n++] = a->store + a->used;
	a->argv[a->n] = NULL;
	a->used += (size_t)r + 1;
}

/* the address without "/prefix" */
static const char *bare(const struct netdef_addr *x, char *buf, size_t cap)
{
	char *s;

	snprintf(buf, cap, "%s", x->text);
	s = strchr(buf, '/');
	if (s)
		*s = '\0';
	return buf;
}

int net_dnsmasq_args_needs_raw(const struct netdef *d)
{
	/* the same condition that adds --enable-ra below */
	return d->dhcp6 && d->gw6.set;
}

int net_dnsmasq_args_build(const struct netdef *d, const char *helper, const char *hostsdir,
			   char **argv, size_t maxargs, char *store, size_t storecap)
{
	struct av a = {.argv = argv, .max = maxargs, .store = store, .cap = storecap};
	char g4[64], g6[64], s4[64], e4[64];
	const char *dom = d->domain;
	uint32_t v = d->vni;

	if (maxargs < 2 || storecap == 0)
		return -1;
	bare(&d->gw4, g4, sizeof(g4));
	bare(&d->gw6, g6, sizeof(g6));
	add(&a, "%s", DNSM_EXE);
	add(&a, "--domain-needed");
	add(&a, "--bogus-priv");
	add(&a, "--no-hosts");
	add(&a, "--dhcp-authoritative");
	add(&a, "--filterwin2k");
	add(&a, "--expand-hosts");
	add(&a, "--domain-needed");
	/* an empty domain would make "--local=//" (every unqualified name) and an
	 * invalid --auth-zone: the domain arguments are left out instead */
	if (dom[0]) {
		add(&a, "--domain=%s", dom);
		add(&a, "--local=/%s/", dom);
	}
	add(&a, "--log-facility=-");
	add(&a, "--log-dhcp");
	add(&a, "--keep-in-foreground");
	add(&a, "--leasefile-ro");
	add(&a, "--dhcp-script=%s", helper);
	add(&a, "--dhcp-hostsdir=%s", hostsdir);
	add(&a, "--bind-interfaces");
	/* several instances on one host: each only on its bridge, none on lo, and no
	 * shared /run/dnsmasq/dnsmasq.pid (we supervise by pidfd) */
	add(&a, "--interface=vmbr%u", v);
	add(&a, "--except-interface=lo");
	add(&a, "--pid-file=");
	if (d->dhcp6 && d->gw6.set) {
		add(&a, "--listen-address=%s", g6);
		if (dom[0])
			add(&a, "--auth-zone=%s", dom);
		add(&a, "--auth-peer=%s", g6);
		add(&a, "--auth-server=%s", g6);
		add(&a, "--auth-sec-servers=%s", g6);
		add(&a, "--dhcp-option=option6:dns-server,[%s]", g6);
		add(&a, "--dhcp-option=option6:sntp-server,[%s]", g6);
		add(&a, "--enable-ra");
		if (d->dhcp4)
			add(&a, "--dhcp-range=net:vmbr%u,::,constructor:vmbr%u,ra-stateless,ra-names", v, v);
		else {
			add(&a, "--auth-server=%s", g6);
			add(&a, "--dhcp-range=net:vmbr%u,::2,::ffff:ffff:ffff:ffff,constructor:vmbr%u,64,24h",
			    v, v);
		}
	} else if (d->gw4.set) {
		add(&a, "--listen-address=%s", g4);
		if (dom[0])
			add(&a, "--auth-zone=%s", dom);
		add(&a, "--auth-peer=%s", g4);
		add(&a, "--auth-server=%s", g4);
		add(&a, "--auth-sec-servers=%s", g4);
	}
	if (d->dhcp4 && d->gw4.set && d->dhcp4_start.set && d->dhcp4_end.set) {
		/* The ICMP probe before a dynamic offer needs a raw socket, so dnsmasq
		 * refuses to start without CAP_NET_RAW unless told not to probe. Only a
		 * network with router advertisements keeps NET_RAW (and the probe);
		 * elsewhere the lease database alone decides (dnsmasq_args_needs_raw). */
		if (!net_dnsmasq_args_needs_raw(d))
			add(&a, "--no-ping");
		add(&a, "--dhcp-option=option:ntp-server,%s", g4);
		add(&a, "--dhcp-range=%s,%s,48h", bare(&d->dhcp4_start, s4, sizeof(s4)),
		    bare(&d->dhcp4_end, e4, sizeof(e4)));
	}
	return a.over ? -1 : (int)a.n;
}

void net_dnsmasq_args_host_line(const struct netdef_res *r, char *buf, size_t cap)
{
	char ip[64];

	bare(&r->ip, ip, sizeof(ip));
	if (r->hostname[0])
		snprintf(buf, cap, "%s,%s,%s", r->mac, ip, r->hostname);
	else
		snprintf(buf, cap, "%s,%s", r->mac, ip);
}
