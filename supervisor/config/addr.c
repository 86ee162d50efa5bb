/*
 * addr.c: IPv4 and IPv6 addresses and networks of the configuration: parsing, the
 * usable host range of a network (as Python's ipaddress, which the reference uses),
 * and the checks of a network and of a host address inside it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "config_int.h"

static int fam_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

void config_addr_format(struct cfg_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, a->addr, buf, sizeof buf))
		buf[0] = '\0';
	if (a->prefix >= 0)
		snprintf(a->text, sizeof a->text, "%s/%d", buf, a->prefix);
	else
		snprintf(a->text, sizeof a->text, "%s", buf);
}

/* Parse "addr" or "addr/prefix" (IPv4 or IPv6). 0 ok, -1 bad syntax. */
static int addr_parse(const char *s, struct cfg_addr *a)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	memset(a, 0, sizeof *a);
	a->prefix = -1;
	if (alen == 0 || alen >= sizeof buf)
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
	else
		return -1;
	if (slash) {
		const char *p = slash + 1;
		size_t plen = strlen(p), i;
		int v = 0;

		if (plen == 0 || plen > 3 || (p[0] == '0' && plen > 1))
			return -1;
		for (i = 0; i < plen; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			v = v * 10 + (p[i] - '0');
		}
		if (v > fam_len(a->family) * 8)
			return -1;
		a->prefix = v;
	}
	a->set = 1;
	config_addr_format(a);
	return 0;
}

static uint8_t prefix_mask(int prefix, int byte)
{
	int b = prefix - byte * 8;

	if (b >= 8)
		return 0xff;
	if (b <= 0)
		return 0;
	return (uint8_t)(0xff << (8 - b));
}

static int host_bits_zero(const struct cfg_addr *a)
{
	int i;

	for (i = 0; i < fam_len(a->family); i++)
		if (a->addr[i] & (uint8_t)~prefix_mask(a->prefix, i))
			return 0;
	return 1;
}

static int addr_cmp(const uint8_t *a, const uint8_t *b, int len)
{
	return memcmp(a, b, (size_t)len);
}

/* Add n to a big-endian number; -1 on overflow. */
static int addr_add(uint8_t *a, int len, uint64_t n)
{
	int i;
	unsigned carry = 0;

	for (i = len - 1; i >= 0; i--) {
		unsigned v = a[i] + (unsigned)(n & 0xff) + carry;

		a[i] = (uint8_t)v;
		carry = v >> 8;
		n >>= 8;
	}
	return (n || carry) ? -1 : 0;
}

/* Usable host range of a network, as Python's ipaddress .hosts(): IPv4 without the
 * network and broadcast addresses (all of a /31 and /32), IPv6 without the
 * subnet-router anycast address (all of a /127 and /128). */
static void net_hosts(const struct cfg_addr *net, uint8_t first[16], uint8_t last[16])
{
	int len = fam_len(net->family), i;
	int host_bits = len * 8 - net->prefix;

	memset(first, 0, 16);
	memset(last, 0, 16);
	for (i = 0; i < len; i++) {
		uint8_t m = prefix_mask(net->prefix, i);

		first[i] = net->addr[i] & m;
		last[i] = (uint8_t)(first[i] | (uint8_t)~m);
	}
	if (host_bits >= 2) {
		(void)addr_add(first, len, 1);
		if (net->family == AF_INET) { /* last - 1: the broadcast address is last */
			for (i = len - 1; i >= 0; i--) {
				if (last[i]--)
					break;
			}
		}
	}
}

static int addr_is_host_of(const struct cfg_addr *a, const struct cfg_addr *net)
{
	uint8_t first[16], last[16];
	int len;

	if (!a->set || !net->set || a->family != net->family)
		return 0;
	len = fam_len(net->family);
	net_hosts(net, first, last);
	return addr_cmp(a->addr, first, len) >= 0 && addr_cmp(a->addr, last, len) <= 0;
}

/* The n-th (1-based) usable host address of `net`, with the network's prefix. */
int config_addr_nth_host(const struct cfg_addr *net, long n, struct cfg_addr *out)
{
	uint8_t first[16], last[16];
	int len = fam_len(net->family);

	if (n < 1)
		return -1;
	net_hosts(net, first, last);
	if (addr_add(first, len, (uint64_t)(n - 1)) < 0 || addr_cmp(first, last, len) > 0)
		return -1;
	memset(out, 0, sizeof *out);
	out->set = 1;
	out->family = net->family;
	memcpy(out->addr, first, 16);
	out->prefix = net->prefix;
	config_addr_format(out);
	return 0;
}

/* The network part of an address/prefix, for "did you mean" hints. */
static void addr_network_of(const struct cfg_addr *a, struct cfg_addr *out)
{
	int i;

	*out = *a;
	for (i = 0; i < 16; i++)
		out->addr[i] = i < fam_len(a->family) ? (uint8_t)(a->addr[i] & prefix_mask(a->prefix, i)) : 0;
	config_addr_format(out);
}

/* A network in CIDR notation. */
int config_addr_cidr(struct ld *l, yaml_node_t *n, const char *path, struct cfg_addr *out)
{
	char text[80], got[SHOW_MAX * 4 + 32];
	struct cfg_addr a;

	TRY(config_value_str(l, n, path, S_NONEMPTY, text, sizeof text));
	if (addr_parse(text, &a) < 0 || a.prefix < 0) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path,
				"expected a network in CIDR notation (e.g. 10.0.0.0/24 or "
				"fd00::/64), got %s",
				got);
	}
	if (a.prefix == 0)
		return err_node(l, n, path, "expected a network with a prefix length of at least 1, got %s",
				a.text);
	if (!host_bits_zero(&a)) {
		struct cfg_addr net;

		addr_network_of(&a, &net);
		return err_node(l, n, path,
				"host bits are set in \"%s\": a network address must end in zero "
				"bits (did you mean %s?)",
				text, net.text);
	}
	*out = a;
	return 0;
}

/* An address inside `net` that must be a usable host address. prefix_mode:
 * 1 = "/prefix" required and equal to the network's, 0 = optional (if present,
 * equal). `net` may be unset (networking disabled and network absent): then only
 * the syntax is checked. */
int config_addr_host(struct ld *l, yaml_node_t *n, const char *path, const struct cfg_addr *net,
		     const char *netpath, int prefix_required, struct cfg_addr *out)
{
	char text[80], got[SHOW_MAX * 4 + 32];
	struct cfg_addr a;

	TRY(config_value_str(l, n, path, S_NONEMPTY, text, sizeof text));
	if (addr_parse(text, &a) < 0) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected an IP address%s, got %s",
				prefix_required ? " with /prefix (e.g. 10.0.0.254/24)" : "", got);
	}
	if (prefix_required && a.prefix < 0) {
		if (net->set)
			return err_node(l, n, path,
					"expected an address with the network's prefix (e.g. "
					"%s/%d), got \"%s\" without /prefix",
					text, net->prefix, text);
		return err_node(l, n, path,
				"expected an address with /prefix (e.g. %s/24), got \"%s\" without /prefix",
				text, text);
	}
	if (net->set) {
		if (a.family != net->family)
			return err_node(l, n, path,
					"address %s is not of the same IP version as the network "
					"%s (%s)",
					a.text, net->text, netpath);
		if (a.prefix >= 0 && a.prefix != net->prefix)
			return err_node(l, n, path,
					"prefix /%d of %s differs from the prefix /%d of the network "
					"%s (%s)",
					a.prefix, a.text, net->prefix, net->text, netpath);
		if (!addr_is_host_of(&a, net))
			return err_node(l, n, path,
					"%s is not a usable host address of the network %s (%s)",
					a.text, net->text, netpath);
	}
	*out = a;
	return 0;
}
