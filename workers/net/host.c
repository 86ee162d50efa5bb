/*
 * host.c: host networks at start-up (ref §7.1). Each request is idempotent
 * (create-or-replace, "already exists" accepted), so a restart after a crash, or a
 * second run, converges instead of failing. Runs after the sandbox is entered:
 * CAP_NET_ADMIN covers both rtnetlink and /proc/sys/net of our namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <net/if.h>
#include <sys/socket.h>

#include "log.h"
#include "net_host.h"

const struct cfg_iface *net_host_iface(const struct pvc_config *cfg, enum net_if which)
{
	switch (which) {
	case NET_IF_CLUSTER:
		return &cfg->if_cluster;
	case NET_IF_STORAGE:
		return &cfg->if_storage;
	case NET_IF_UPSTREAM:
		return &cfg->if_upstream;
	}
	return NULL;
}

const char *net_host_bridge(const struct pvc_config *cfg, enum net_if which)
{
	const char *dev = net_host_iface(cfg, which)->device;

	if (dev[0] == '\0')
		return NULL;
	if (which == NET_IF_CLUSTER || strcmp(dev, cfg->if_cluster.device) == 0)
		return "brcluster";
	if (which == NET_IF_STORAGE || strcmp(dev, cfg->if_storage.device) == 0)
		return "brstorage";
	return "brupstream";
}

int net_host_sysctl_write(const char *key, const char *value)
{
	char path[160];
	size_t vl = strlen(value);
	ssize_t w;
	int fd, n;

	/* keys are built from config device names; never let one climb out of /proc/sys */
	if (strstr(key, "..") != NULL)
		return -EINVAL;
	n = snprintf(path, sizeof(path), "/proc/sys/%s", key);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, value, vl);
	if (w < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (close(fd) != 0)
		return -errno;
	return (size_t)w == vl ? 0 : -EIO;
}

struct setup {
	struct nl_sock *nl;
	int failures;
	char *err;
	size_t errlen;
};

static void step_fail(struct setup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step_fail(struct setup *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, s->errlen, fmt, ap);
	va_end(ap);
	s->failures++;
	log_errx("host networking: %s", s->err);
}

static const char *nlerr(struct nl_sock *nl, int rc)
{
	static char buf[300];

	snprintf(buf, sizeof(buf), "%s%s%s", strerror(-rc), nl->err[0] ? ": " : "", nl->err);
	return buf;
}

int net_host_bridge_ensure(struct nl_sock *nl, const char *name)
{
	_Alignas(4) char req[NL_MSG_MAX];
	struct nl_link l;
	size_t len;
	int rc;

	rc = net_netlink_link_query(nl, name, &l);
	if (rc == 0)
		return strcmp(l.kind, "bridge") == 0 ? l.ifindex : -EEXIST;
	if (rc != -ENODEV)
		return rc;
	len = net_nlmsg_build_bridge_new(req, sizeof(req), 0, name);
	if (len == 0)
		return -EINVAL;
	rc = net_netlink_request(nl, req, len);
	if (rc != 0 && rc != -EEXIST)
		return rc;
	rc = net_netlink_link_query(nl, name, &l);
	if (rc != 0)
		return rc;
	return strcmp(l.kind, "bridge") == 0 ? l.ifindex : -EEXIST;
}

static int link_set(struct nl_sock *nl, int ifindex, int mtu, int master)
{
	_Alignas(4) char req[NL_MSG_MAX];
	size_t len = net_nlmsg_build_link_set(req, sizeof(req), 0, ifindex, 1, mtu, master);

	return len ? net_netlink_request(nl, req, len) : -EINVAL;
}

/* Device up with its MTU, in its bridge, bridge up; returns the bridge's ifindex. */
static int setup_one(struct setup *s, const struct pvc_config *cfg, enum net_if which)
{
	const struct cfg_iface *ifc = net_host_iface(cfg, which);
	const char *br = net_host_bridge(cfg, which);
	struct nl_link dev, brl;
	int rc, bridx, owner;

	if (!br)
		return -ENODEV;
	rc = net_netlink_link_query(s->nl, ifc->device, &dev);
	if (rc != 0) {
		step_fail(s, "device %s: %s", ifc->device, nlerr(s->nl, rc));
		return rc;
	}
	rc = link_set(s->nl, dev.ifindex, ifc->mtu, -1);
	if (rc != 0)
		step_fail(s, "%s mtu %d up: %s", ifc->device, ifc->mtu, nlerr(s->nl, rc));
	bridx = net_host_bridge_ensure(s->nl, br);
	if (bridx < 0) {
		step_fail(s, "bridge %s: %s", br,
			  bridx == -EEXIST ? "the name exists and is not a bridge"
					   : nlerr(s->nl, bridx));
		return bridx;
	}
	if (dev.master != bridx) {
		rc = link_set(s->nl, dev.ifindex, 0, bridx);
		if (rc != 0)
			step_fail(s, "%s into %s: %s", ifc->device, br, nlerr(s->nl, rc));
	}
	/* the network that created the bridge decides its MTU (ref §7.1: a shared
	 * storage/upstream network only adds its address) */
	owner = (which == NET_IF_CLUSTER) ||
		strcmp(br, which == NET_IF_STORAGE ? "brstorage" : "brupstream") == 0;
	if (net_netlink_link_query(s->nl, br, &brl) == 0 &&
	    (!(brl.flags & IFF_UP) || (owner && brl.mtu != ifc->mtu))) {
		rc = link_set(s->nl, bridx, owner ? ifc->mtu : 0, -1);
		if (rc != 0)
			step_fail(s, "%s up: %s", br, nlerr(s->nl, rc));
	}
	if (ifc->address.set) {
		struct nl_addr a = {
			.family = ifc->address.family,
			.prefix = ifc->address.prefix,
			.ifindex = bridx,
			.valid_lft = NL_LFT_FOREVER,
			.pref_lft = NL_LFT_FOREVER,
		};
		const struct cfg_network *net = which == NET_IF_CLUSTER ? &cfg->cluster
						: which == NET_IF_STORAGE ? &cfg->storage
									  : &cfg->upstream;
		if (a.prefix < 0)
			a.prefix = net->network.prefix;
		memcpy(a.addr, ifc->address.addr, sizeof(a.addr));
		rc = net_netlink_addr_set(s->nl, &a);
		if (rc != 0)
			step_fail(s, "address %s on %s: %s", ifc->address.text, br, nlerr(s->nl, rc));
	}
	return bridx;
}

static void sysctl_set(struct setup *s, const char *key, const char *value, int may_miss)
{
	int rc = net_host_sysctl_write(key, value);

	if (rc == -ENOENT && may_miss) {
		log_debug("sysctl %s does not exist here", key);
		return;
	}
	if (rc != 0)
		step_fail(s, "sysctl %s=%s: %s", key, value, strerror(-rc));
}

static void setup_sysctls(struct setup *s, const struct pvc_config *cfg)
{
	static const char *const on[] = {
		"net/ipv4/ip_forward",
		/* the reference writes net.ipv6.ip_forward, which does not exist; this is
		 * the key it meant (client networks are routed by the primary) */
		"net/ipv6/conf/all/forwarding",
		"net/ipv4/conf/all/send_redirects",
		"net/ipv4/conf/default/send_redirects",
		"net/ipv4/conf/all/accept_source_route",
		"net/ipv4/conf/default/accept_source_route",
		"net/ipv6/conf/all/accept_source_route",
		"net/ipv6/conf/default/accept_source_route",
	};
	const char *rpdevs[4] = {cfg->if_cluster.device, cfg->if_upstream.device, "brcluster",
				 net_host_bridge(cfg, NET_IF_UPSTREAM)};
	char key[96];
	size_t i;

	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		sysctl_set(s, on[i], "1", 0);
	for (i = 0; i < 4; i++) {
		if (!rpdevs[i] || !rpdevs[i][0] || strchr(rpdevs[i], '/'))
			continue;
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/rp_filter", rpdevs[i]);
		sysctl_set(s, key, "0", 1);
	}
}

int net_host_setup(struct nl_sock *nl, const struct pvc_config *cfg, char *err, size_t errlen)
{
	struct setup s = {.nl = nl, .err = err, .errlen = errlen};
	int up_br;

	err[0] = '\0';
	(void)setup_one(&s, cfg, NET_IF_CLUSTER);
	(void)setup_one(&s, cfg, NET_IF_STORAGE);
	up_br = setup_one(&s, cfg, NET_IF_UPSTREAM);
	if (cfg->upstream.gateway.set) {
		if (up_br <= 0) {
			step_fail(&s, "default route via %s: no upstream bridge",
				  cfg->upstream.gateway.text);
		} else {
			_Alignas(4) char req[NL_MSG_MAX];
			size_t len = net_nlmsg_build_route_default(req, sizeof(req), 0,
								   cfg->upstream.gateway.family,
								   cfg->upstream.gateway.addr, up_br);
			int rc = len ? net_netlink_request(nl, req, len) : -EINVAL;
			if (rc != 0)
				step_fail(&s, "default route via %s: %s",
					  cfg->upstream.gateway.text, nlerr(nl, rc));
		}
	}
	setup_sysctls(&s, cfg);
	return s.failures;
}
