/*
 * route.c: the pure parts of the metadata API, kept apart for the unit test and the
 * fuzz target (fuzz/fuzz_meta.c): the URL router of the request path (untrusted bytes
 * from any VM) and the MAC addresses of a VM's libvirt XML (from ZooKeeper).
 *
 * Routes, as the reference's Flask app (version: any one path component, e.g.
 * `latest` or `2009-04-04`, as cloud-init's EC2 data source asks):
 *   /                                 the API's name
 *   /<version>/meta-data[/]           the index: instance-id, name, profile
 *   /<version>/meta-data/instance-id  the VM's UUID
 *   /<version>/meta-data/name         the VM's name
 *   /<version>/meta-data/profile      the VM's provisioner profile
 *   /<version>/user-data              the profile's user-data (PostgreSQL)
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include "meta.h"

static int seg_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* A version component: what cloud-init sends (letters, digits, '-', '.', '_'). */
static int valid_version(const char *s, size_t n)
{
	if (n == 0 || n > 64 || (n <= 2 && s[0] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return 0;
	return 1;
}

enum meta_route meta_route_parse(const char *path, size_t len)
{
	const char *seg[4];
	size_t segn[4], nseg = 0, i = 0;
	int trailing = 0;

	if (len == 0 || path[0] != '/' || memchr(path, '\0', len) != NULL)
		return META_R_NOTFOUND;
	if (len == 1)
		return META_R_ROOT;
	while (i < len) {
		size_t start = ++i; /* past the '/' */
		while (i < len && path[i] != '/')
			i++;
		if (i == start) {
			/* an empty component: only as the last one ("meta-data/") */
			if (i == len) {
				trailing = 1;
				break;
			}
			return META_R_NOTFOUND;
		}
		if (nseg == 4)
			return META_R_NOTFOUND;
		seg[nseg] = path + start;
		segn[nseg++] = i - start;
	}
	if (nseg < 2 || !valid_version(seg[0], segn[0]))
		return META_R_NOTFOUND;
	if (nseg == 2 && seg_eq(seg[1], segn[1], "user-data") && !trailing)
		return META_R_USERDATA;
	if (!seg_eq(seg[1], segn[1], "meta-data"))
		return META_R_NOTFOUND;
	if (nseg == 2)
		return META_R_MD_INDEX;
	if (nseg != 3 || trailing)
		return META_R_NOTFOUND;
	if (seg_eq(seg[2], segn[2], "instance-id"))
		return META_R_INSTANCE_ID;
	if (seg_eq(seg[2], segn[2], "name"))
		return META_R_NAME;
	if (seg_eq(seg[2], segn[2], "profile"))
		return META_R_PROFILE;
	return META_R_NOTFOUND;
}

int meta_route_mac(const char *s, size_t len, char out[META_MAC_MAX])
{
	if (len != 17)
		return -1;
	for (size_t i = 0; i < 17; i++) {
		char c = s[i];
		if (i % 3 == 2) {
			if (c != ':' && c != '-')
				return -1;
			out[i] = ':';
		} else {
			if (!isxdigit((unsigned char)c))
				return -1;
			out[i] = (char)tolower((unsigned char)c);
		}
	}
	out[17] = '\0';
	return 0;
}

int meta_route_valid_ip(const char *s)
{
	struct in_addr a;

	return s != NULL && strlen(s) < META_IP_MAX && inet_pton(AF_INET, s, &a) == 1;
}

/* The value of attribute `address` inside the tag that starts at t (up to '>'). */
static int tag_address(const char *t, const char *end, char out[META_MAC_MAX])
{
	const char *gt = memchr(t, '>', (size_t)(end - t));
	const char *p;

	if (gt == NULL)
		return -1;
	for (p = t; p + 8 < gt; p++) {
		char q;
		const char *v, *ve;

		if (memcmp(p, "address", 7) != 0 || !isspace((unsigned char)p[-1]))
			continue;
		v = p + 7;
		while (v < gt && isspace((unsigned char)*v))
			v++;
		if (v >= gt || *v != '=')
			continue;
		v++;
		while (v < gt && isspace((unsigned char)*v))
			v++;
		if (v >= gt || (*v != '\'' && *v != '"'))
			continue;
		q = *v++;
		ve = memchr(v, q, (size_t)(gt - v));
		if (ve == NULL)
			return -1;
		return meta_route_mac(v, (size_t)(ve - v), out);
	}
	return -1;
}

/* Within each <interface ...> ... </interface>, the first <mac address='...'/>. A VM's
 * XML is libvirt's own output (written by the provisioner or the API), so this is no
 * general XML parser: comments or CDATA that mimic an interface could add a MAC that
 * the VM does not have, which only makes the VM answerable for a lease it cannot hold. */
int meta_route_xml_macs(const char *xml, size_t len, char (*macs)[META_MAC_MAX], int max)
{
	const char *p = xml, *end = xml + len;
	int n = 0;

	while (n < max && p < end) {
		const char *ifc = memmem(p, (size_t)(end - p), "<interface", 10);
		const char *close, *m;

		if (ifc == NULL)
			break;
		close = memmem(ifc, (size_t)(end - ifc), "</interface>", 12);
		if (close == NULL)
			close = end;
		m = memmem(ifc, (size_t)(close - ifc), "<mac", 4);
		if (m != NULL && m + 4 < close && isspace((unsigned char)m[4]) &&
		    tag_address(m + 4, close, macs[n]) == 0) {
			int dup = 0;
			for (int i = 0; i < n; i++)
				dup |= strcmp(macs[i], macs[n]) == 0;
			if (!dup)
				n++;
		}
		p = close < end ? close + 12 : end;
	}
	return n;
}
