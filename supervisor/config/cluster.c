/*
 * cluster.c: pvc.cluster: the coordinator list, the upstream, cluster and storage
 * networks, and the ZooKeeper connection (hosts default to every coordinator; the
 * optional digest secret is read here, from a root-only file).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"
#include "pvc.h"

#define DEF_ZK_PORT 2181
#define DEF_ZK_SESSION_TIMEOUT_MS 10000

static const char *const K_CLUSTER[] = { "coordinators", "networks", "zookeeper", NULL };
static const char *const K_NETWORKS[] = { "upstream", "cluster", "storage", NULL };
static const char *const K_NET_UPSTREAM[] = { "domain", "network", "floating_ip", "gateway", NULL };
static const char *const K_NET[] = { "domain", "network", "floating_ip", NULL };
static const char *const K_ZOOKEEPER[] = { "hosts", "session_timeout_ms", "auth", NULL };
static const char *const K_ZK_AUTH[] = { "scheme", "secret_file", NULL };

/* ZooKeeper connect string: host:port[,host:port...] (IPv6 as [addr]:port). */
static int zk_hosts_valid(const char *s)
{
	const char *p = s;

	if (!*s)
		return 0;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *colon = NULL;
		size_t i, hostlen;
		long port = 0;

		if (len == 0)
			return 0;
		for (i = 0; i < len; i++)
			if (p[i] == ':')
				colon = p + i;
		if (!colon)
			return 0;
		hostlen = (size_t)(colon - p);
		if (hostlen == 0)
			return 0;
		for (i = 0; i < hostlen; i++) {
			char c = p[i];

			if (!(isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' || c == ':' ||
			      c == '[' || c == ']'))
				return 0;
		}
		if (colon + 1 == p + len || p + len - (colon + 1) > 5)
			return 0;
		for (const char *q = colon + 1; q < p + len; q++) {
			if (*q < '0' || *q > '9')
				return 0;
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535)
			return 0;
		p += len;
		if (*p == ',') {
			p++;
			if (!*p)
				return 0;
		}
	}
	return 1;
}

static int load_coordinators(struct ld *l, yaml_node_t *cluster, struct pvc_config *cfg)
{
	char path[KEYPATH_MAX], got[SHOW_MAX * 4 + 32];
	yaml_node_t *n;
	yaml_node_item_t *it;
	int i;

	TRY(config_map_get(l, cluster, "pvc.cluster", "coordinators", 1, &n, path,
			   sizeof path));
	if (!n)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE) {
		config_error_describe(n, got, sizeof got);
		return err_node(l, n, path, "expected a list of coordinator node names, got %s", got);
	}
	if (n->data.sequence.items.top == n->data.sequence.items.start)
		return err_node(l, n, path,
				"expected a non-empty list of coordinator node names, got an "
				"empty list");
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *c = config_map_node(l, *it);
		char ipath[KEYPATH_MAX + 16];
		int idx = (int)(it - n->data.sequence.items.start);

		snprintf(ipath, sizeof ipath, "%s[%d]", path, idx);
		if (!c)
			return err_node(l, n, ipath, "malformed list");
		if (idx >= CFG_MAX_COORDINATORS)
			return err_node(l, c, ipath, "at most %d coordinators are supported",
					CFG_MAX_COORDINATORS);
		if (c->type != YAML_SCALAR_NODE || scalar_len(c) >= CFG_NAME_MAX ||
		    strlen(scalar_text(c)) != scalar_len(c) || !valid_node_name(scalar_text(c))) {
			config_error_describe(c, got, sizeof got);
			return err_node(l, c, ipath,
					"expected a node name (1 to 63 characters of "
					"[A-Za-z0-9_.-], not starting with '.' or '-'), got %s",
					got);
		}
		for (i = 0; i < cfg->coordinator_count; i++)
			if (strcmp(cfg->coordinators[i], scalar_text(c)) == 0)
				return err_node(l, c, ipath,
						"duplicate coordinator \"%s\" (also item %d)",
						scalar_text(c), i);
		memcpy(cfg->coordinators[cfg->coordinator_count], scalar_text(c), scalar_len(c) + 1);
		cfg->coordinator_count++;
	}
	for (i = 0; i < cfg->coordinator_count; i++)
		if (strcmp(cfg->coordinators[i], cfg->node_name) == 0)
			cfg->is_coordinator = 1;
	return 0;
}

static int load_network(struct ld *l, yaml_node_t *nets, const char *which, int req,
			struct cfg_network *out)
{
	char mpath[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *map, *n;
	int upstream = strcmp(which, "upstream") == 0;
	int r;

	TRY(config_field_map(l, nets, "pvc.cluster.networks", which, req,
			     upstream ? K_NET_UPSTREAM : K_NET, &map, mpath, sizeof mpath));
	if (!map)
		return 0;
	TRY(config_field_str(l, map, mpath, "domain", req, S_NULL_EMPTY, out->domain,
			     sizeof out->domain, NULL));

	r = config_map_get(l, map, mpath, "network", req, &n, path, sizeof path);
	TRY(r);
	if (r)
		TRY(config_addr_cidr(l, n, path, &out->network));
	{
		char netpath[KEYPATH_MAX];

		config_map_path(netpath, sizeof netpath, mpath, "network");
		r = config_map_get(l, map, mpath, "floating_ip", req, &n, path, sizeof path);
		TRY(r);
		if (r)
			TRY(config_addr_host(l, n, path, &out->network, netpath, 1,
					     &out->floating_ip));
		if (upstream) {
			r = config_map_get(l, map, mpath, "gateway", req, &n, path, sizeof path);
			TRY(r);
			if (r && !is_null(n) && !scalar_is(n, "None") && !scalar_is(n, "none") &&
			    !scalar_is(n, "")) {
				TRY(config_addr_host(l, n, path, &out->network, netpath, 0,
						     &out->gateway));
				/* a gateway is an address: keep "a.b.c.d" even if "/nn" was given */
				out->gateway.prefix = -1;
				config_addr_format(&out->gateway);
			}
		}
	}
	return 0;
}

/* hosts: absent or empty -> every coordinator with port 2181 */
static int load_zk_hosts(struct ld *l, yaml_node_t *cluster, yaml_node_t *zk, const char *zpath,
			 struct pvc_config *cfg)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	size_t o = 0;
	int r, i;

	r = config_map_get(l, zk, zpath, "hosts", 0, &n, path, sizeof path);
	TRY(r);
	if (r) {
		TRY(config_value_str(l, n, path, S_NULL_EMPTY, cfg->zk_hosts,
				     sizeof cfg->zk_hosts));
		if (cfg->zk_hosts[0] && !zk_hosts_valid(cfg->zk_hosts)) {
			char got[SHOW_MAX * 4 + 32];

			config_error_describe(n, got, sizeof got);
			return err_node(l, n, path,
					"expected a ZooKeeper connect string host:port[,host:port...] "
					"(e.g. pvchv1:2181,pvchv2:2181), got %s",
					got);
		}
	}
	if (cfg->zk_hosts[0])
		return 0;
	for (i = 0; i < cfg->coordinator_count; i++) {
		int w = snprintf(cfg->zk_hosts + o, sizeof cfg->zk_hosts - o, "%s%s:%d",
				 i ? "," : "", cfg->coordinators[i], DEF_ZK_PORT);

		if (w < 0 || (size_t)w >= sizeof cfg->zk_hosts - o)
			return err_node(l, cluster, path,
					"the default connect string built from the "
					"coordinators is too long; set it explicitly");
		o += (size_t)w;
	}
	return 0;
}

/* The secret file: read on the open fd after checking it (what is read is what was
 * checked). Only root may read it: with it anybody may change the whole cluster. */
static int zk_secret_read(const char *file, char *out, size_t outsz, char *why, size_t whysz)
{
	char buf[CFG_TEXT_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(why, whysz, "cannot open %s: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "%s is not a regular file", file);
		close(fd);
		return -1;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(why, whysz,
			 "refusing %s, owned by uid %u with mode %04o: the ZooKeeper secret must "
			 "be owned by root and not accessible by group or others (chown root %s; "
			 "chmod 0600 %s)",
			 file, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), file, file);
		close(fd);
		return -1;
	}
	do
		n = read(fd, buf, sizeof buf); /* more than fits: tells "too long" apart */
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0) {
		snprintf(why, whysz, "cannot read %s: %s", file, strerror(errno));
		return -1;
	}
	len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len >= outsz) {
		explicit_bzero(buf, sizeof buf);
		snprintf(why, whysz, "%s: the secret is longer than %zu bytes", file, outsz - 1);
		return -1;
	}
	memcpy(out, buf, len);
	out[len] = '\0';
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* "user:password": a non-empty user without ':' (ZooKeeper splits at the first one),
 * a non-empty password, printable characters only (a stray newline would silently
 * become part of the password). */
static int zk_secret_valid(const char *s)
{
	const char *colon = strchr(s, ':');

	if (!colon || colon == s || !colon[1])
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* auth: {scheme: digest, secret_file: /etc/pvc/zookeeper.secret}; absent: none. */
/* The floor is the primary's lease: it holds the floating addresses only while its
 * last ZooKeeper answer is younger than T minus a margin covering their kernel
 * lifetime (whole seconds, so >= 1 s), the takeover delay and the ping spacing
 * (docs/election.md). Below 3000 ms that window is too short to survive one late
 * ping, and the primary would flap. */
#define SESSION_TIMEOUT_MIN_MS 3000
#define SESSION_TIMEOUT_MAX_MS 60000

static int load_zk_session_timeout(struct ld *l, yaml_node_t *zk, const char *zpath,
				   struct pvc_config *cfg)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = config_map_get(l, zk, zpath, "session_timeout_ms", 0, &n, path, sizeof path);

	if (r <= 0)
		return r;
	return config_value_int(l, n, path, SESSION_TIMEOUT_MIN_MS, SESSION_TIMEOUT_MAX_MS,
				" (below 3000 ms the primary's lease, T minus 2500 ms for the "
				"floating addresses' whole-second kernel lifetime and the "
				"takeover delay, is too short to survive a late ping; "
				"see docs/election.md)",
				&cfg->zk_session_timeout_ms);
}

static int load_zk_auth(struct ld *l, yaml_node_t *zk, const char *zpath, struct pvc_config *cfg)
{
	char apath[KEYPATH_MAX], spath[KEYPATH_MAX], fpath[KEYPATH_MAX];
	char why[CFG_PATH_MAX * 3 + 320];
	yaml_node_t *auth, *n;

	TRY(config_field_map(l, zk, zpath, "auth", 0, K_ZK_AUTH, &auth, apath, sizeof apath));
	if (!auth)
		return 0;
	TRY(config_field_str(l, auth, apath, "scheme", 1, S_NONEMPTY, cfg->zk_auth_scheme,
			     sizeof cfg->zk_auth_scheme, &n));
	config_map_path(spath, sizeof spath, apath, "scheme");
	if (strcmp(cfg->zk_auth_scheme, "digest") != 0)
		return err_node(l, n, spath,
				"expected \"digest\" (the only scheme supported), got \"%s\"",
				cfg->zk_auth_scheme);
	TRY(config_field_str(l, auth, apath, "secret_file", 1, S_NONEMPTY,
			     cfg->zk_auth_secret_file, sizeof cfg->zk_auth_secret_file, &n));
	config_map_path(fpath, sizeof fpath, apath, "secret_file");
	if (cfg->zk_auth_secret_file[0] != '/')
		return err_node(l, n, fpath, "expected an absolute path, got \"%s\"",
				cfg->zk_auth_secret_file);
	if (zk_secret_read(cfg->zk_auth_secret_file, cfg->zk_auth_secret,
			   sizeof cfg->zk_auth_secret, why, sizeof why) < 0)
		return err_node(l, n, fpath, "%s", why);
	if (!zk_secret_valid(cfg->zk_auth_secret)) {
		explicit_bzero(cfg->zk_auth_secret, sizeof cfg->zk_auth_secret);
		return err_node(l, n, fpath,
				"%s: expected one line \"user:password\" (non-empty user without "
				"':', non-empty password, no control characters)",
				cfg->zk_auth_secret_file);
	}
	return 0;
}

int config_cluster_load(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg)
{
	char cpath[KEYPATH_MAX], npath[KEYPATH_MAX], zpath[KEYPATH_MAX];
	yaml_node_t *cluster, *nets, *zk;
	int net = cfg->enable_networking;

	TRY(config_field_map(l, pvc, "pvc", "cluster", 1, K_CLUSTER, &cluster, cpath,
			     sizeof cpath));
	TRY(load_coordinators(l, cluster, cfg));

	TRY(config_field_map(l, cluster, cpath, "networks", net, K_NETWORKS, &nets, npath,
			     sizeof npath));
	TRY(load_network(l, nets, "upstream", net, &cfg->upstream));
	TRY(load_network(l, nets, "cluster", net, &cfg->cluster));
	TRY(load_network(l, nets, "storage", net, &cfg->storage));

	TRY(config_field_map(l, cluster, cpath, "zookeeper", 0, K_ZOOKEEPER, &zk, zpath,
			     sizeof zpath));
	TRY(load_zk_hosts(l, cluster, zk, zpath, cfg));
	cfg->zk_session_timeout_ms = DEF_ZK_SESSION_TIMEOUT_MS;
	TRY(load_zk_session_timeout(l, zk, zpath, cfg));
	TRY(load_zk_auth(l, zk, zpath, cfg));
	return 0;
}
