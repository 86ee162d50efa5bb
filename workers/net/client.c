/*
 * client.c: client network interfaces on every node with networking
 * (ref §7.2 with rtnetlink instead of ip/brctl/ethtool/sysctl commands).
 *
 * The kernel is the state: each apply lists the links once and converges them to
 * the set, so a restarted net-router adopts what a previous run built and only
 * touches what differs. Only interfaces named vmbr/vxlan/vlan<digits> are ever
 * deleted: any other interface is not ours, whatever it looks like.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include "log.h"
#include "net_client.h"

int net_client_our_name(const char *name, uint32_t *vni)
{
	static const char *const pfx[] = {"vmbr", "vxlan", "vlan"};
	unsigned long long v = 0;

	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		size_t l = strlen(pfx[i]);
		const char *p = name + l;

		if (strncmp(name, pfx[i], l) != 0 || *p == '\0')
			continue;
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || v > NETDEF_VNI_MAX)
				return 0;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v > NETDEF_VNI_MAX)
			return 0;
		*vni = (uint32_t)v;
		return 1;
	}
	return 0;
}

int net_client_mtu(const struct pvc_config *cfg, int managed)
{
	int mtu = cfg->if_cluster.mtu > 0 ? cfg->if_cluster.mtu : 1500;

	return managed ? mtu - NETC_VXLAN_OVERHEAD : mtu;
}

static const struct nl_link *find(const struct nl_link *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int in_set(const struct netdef *defs, size_t n, uint32_t vni)
{
	for (size_t i = 0; i < n; i++)
		if (defs[i].vni == vni)
			return 1;
	return 0;
}

/* sysctl net.ipv6.conf.<br>.accept_dad=0: a gateway or a VM address must not stay
 * tentative (the gateway is also added with IFA_F_NODAD). A host without IPv6 has
 * no such file: not an error. */
static void no_dad(const char *br)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_dad", br);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warnx("network: cannot open %s: %s", path, strerror(errno));
		return;
	}
	if (write(fd, "0\n", 2) != 2)
		log_warnx("network: cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* ethtool -K <br> tx off (ref §7.2): checksums of locally generated packets are
 * computed in software, so a VM behind a bridge that cannot offload never sees a
 * bad checksum. SIOCETHTOOL on a datagram socket opened before confinement. */
static void tx_off(struct netc *c, const char *br)
{
	struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
	struct ifreq ifr;

	if (c->ioctl_fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", br);
	ifr.ifr_data = (char *)&ev;
	if (ioctl(c->ioctl_fd, SIOCETHTOOL, &ifr) != 0 && errno != EOPNOTSUPP)
		log_warnx("network: %s: cannot turn tx checksum offload off: %s", br,
			  strerror(errno));
}

/* An existing link `l` can be adopted as the wanted one. */
static int link_fits(const struct nl_link *l, const struct nl_newlink *want)
{
	if (strcmp(l->kind, want->kind) != 0)
		return 0;
	if (strcmp(want->kind, "bridge") == 0)
		return 1;
	if (!l->has_id || l->id != want->id)
		return 0;
	/* the lower device: vlan always has one; vxlan only if the kernel says */
	return l->link == 0 || want->link == 0 || l->link == want->link;
}

/* Create `want` unless an existing link fits; replace a misfit of the same name.
 * Returns the ifindex or -errno. */
static int ensure_link(struct netc *c, const struct nl_link *have, const struct nl_newlink *want,
		       uint32_t vni)
{
	struct nl_link l;
	int rc;

	if (have && link_fits(have, want))
		return have->ifindex;
	if (have) {
		log_warnx("network %u: %s is a %s, not the %s wanted: replacing it", vni,
			  want->name, have->kind[0] ? have->kind : "plain link", want->kind);
		rc = net_netlink_link_del(c->nl, have->ifindex);
		if (rc != 0)
			return rc;
	}
	rc = net_netlink_link_new(c->nl, want);
	if (rc != 0 && rc != -EEXIST)
		return rc;
	rc = net_netlink_link_query(c->nl, want->name, &l);
	return rc != 0 ? rc : l.ifindex;
}

static int build_net(struct netc *c, const struct netdef *d, const struct nl_link *links,
		     size_t nlinks)
{
	char br[16], lk[16];
	const char *lower = d->managed ? c->cfg->if_cluster.device : c->cfg->bridge_device;
	struct nl_link low;
	struct nl_newlink wl, wb;
	int mtu = net_client_mtu(c->cfg, d->managed), li, bi, rc;

	netdef_ifnames(d, br, lk);
	rc = net_netlink_link_query(c->nl, lower, &low);
	if (rc != 0) {
		log_errx("network %u: %s device %s: %s", d->vni,
			 d->managed ? "cluster" : "bridge", lower,
			 rc == -ENODEV ? "no such device" : strerror(-rc));
		return -1;
	}
	memset(&wl, 0, sizeof(wl));
	wl.name = lk;
	wl.kind = d->managed ? "vxlan" : "vlan";
	wl.link = low.ifindex;
	wl.id = d->vni;
	wl.port = NETC_VXLAN_PORT;
	wl.mtu = mtu;
	memset(&wb, 0, sizeof(wb));
	wb.name = br;
	wb.kind = "bridge";
	wb.mtu = mtu;
	li = ensure_link(c, find(links, nlinks, lk), &wl, d->vni);
	if (li < 0) {
		log_errx("network %u: cannot create %s (%s on %s): %s%s%s", d->vni, lk, wl.kind,
			 lower, strerror(-li), c->nl->err[0] ? ": " : "", c->nl->err);
		return -1;
	}
	bi = ensure_link(c, find(links, nlinks, br), &wb, d->vni);
	if (bi < 0) {
		log_errx("network %u: cannot create bridge %s: %s%s%s", d->vni, br, strerror(-bi),
			 c->nl->err[0] ? ": " : "", c->nl->err);
		return -1;
	}
	/* MTU before enslaving: a port with a smaller MTU would lower the bridge's */
	rc = net_netlink_link_set(c->nl, li, 1, mtu, bi);
	if (rc == 0)
		rc = net_netlink_link_set(c->nl, bi, 1, mtu, -1);
	if (rc != 0) {
		log_errx("network %u: cannot set up %s in %s (mtu %d): %s%s%s", d->vni, lk, br, mtu,
			 strerror(-rc), c->nl->err[0] ? ": " : "", c->nl->err);
		return -1;
	}
	no_dad(br);
	tx_off(c, br);
	return 0;
}

int net_client_apply(struct netc *c, const struct netdef *defs, size_t n, int *ok)
{
	struct nl_link *links = NULL;
	size_t nlinks = 0, i;
	int rc, failed = 0;

	rc = net_netlink_link_dump(c->nl, &links, &nlinks);
	if (rc != 0) {
		log_errx("network: cannot list links: %s", strerror(-rc));
		return rc;
	}
	/* removals first: a VNI that changed type frees its vmbr for the new link */
	for (i = 0; i < nlinks; i++) {
		uint32_t vni;
		int keep;

		if (!net_client_our_name(links[i].name, &vni))
			continue;
		keep = 0;
		for (size_t j = 0; j < n && !keep; j++) {
			char br[16], lk[16];
			if (defs[j].vni != vni)
				continue;
			netdef_ifnames(&defs[j], br, lk);
			keep = strcmp(links[i].name, br) == 0 || strcmp(links[i].name, lk) == 0;
		}
		if (keep)
			continue;
		rc = net_netlink_link_del(c->nl, links[i].ifindex);
		if (rc != 0)
			log_errx("network %u: cannot delete %s: %s", vni, links[i].name,
				 strerror(-rc));
		else
			log_info("network %u: %s deleted (%s)", vni, links[i].name,
				 in_set(defs, n, vni) ? "type changed" : "network removed");
		links[i].name[0] = '\0'; /* gone: never adopted below */
	}
	for (i = 0; i < n; i++) {
		int r = build_net(c, &defs[i], links, nlinks);
		if (ok)
			ok[i] = r == 0;
		failed += r != 0;
	}
	free(links);
	return failed;
}
