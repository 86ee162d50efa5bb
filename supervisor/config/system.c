/*
 * system.c: pvc.system: intervals, fencing, migration, configuration (in
 * configuration.c), and the sections pvcnoded adds: libvirt, flush and supervisor.
 */
#include <stdio.h>
#include <string.h>

#include "config_int.h"
#include "pvc.h"

/* Defaults of the keys added by pvcnoded. */
#define DEF_LIBVIRT_URI "qemu:///system"
#define DEF_MIGRATION_URI "qemu+tcp://{node}.{domain}/system"
#define DEF_MIGRATION_DEST_URI "tcp://{node}.{domain}"
#define DEF_MIGRATION_TIMEOUT 300
#define DEF_SHUTDOWN_TIMEOUT 90
#define DEF_FLUSH_VM_TIMEOUT 600
#define DEF_FLUSH_IN_FLIGHT 1
#define DEF_WORKER_GROUP "pvc"
/* The heartbeat is the supervisor's main idle cost: a tick every 1.5 s, and a hung
 * worker is still replaced within 5 s (hang timeout + one interval). */
#define DEF_HEARTBEAT_MS 1500
#define DEF_HANG_TIMEOUT_MS 3200
#define DEF_RESTART_BACKOFF_MAX_MS 30000
#define DEF_HEALTHY_RESET_S 60
#define DEF_CRASHLOOP_MAX 10
#define DEF_CRASHLOOP_WINDOW_S 60

static const char *const K_SYSTEM[] = { "intervals", "fencing", "migration", "configuration",
					"libvirt", "flush", "supervisor", "api", "ceph",
					NULL };
static const char *const K_INTERVALS[] = { "keepalive_interval", "fence_intervals",
					   "suicide_intervals", NULL };
static const char *const K_FENCING[] = { "actions", "ipmi", NULL };
static const char *const K_ACTIONS[] = { "successful_fence", "failed_fence", NULL };
static const char *const K_IPMI[] = { "host", "user", "pass", NULL };
static const char *const K_MIGRATION[] = { "target_selector", NULL };
static const char *const K_LIBVIRT[] = { "uri", "migration_uri", "migration_dest_uri",
					 "migration_timeout", "shutdown_timeout", "xml_policy",
					 NULL };
static const char *const K_FLUSH[] = { "vm_timeout", "in_flight", NULL };
/* pvc.system.supervisor.users: keys and default users, indexed by enum pvc_role */
static const char *const K_USERS[] = { "zk-election", "vm-manager", "net-router", "flush",
				       "fence", "api-units", "dns-aggregator", "metadata",
				       "ceph", NULL };
static const char *const DEF_ROLE_USERS[CFG_ROLE_SLOTS] = {
	NULL, "pvc-zk", "pvc-vm", "pvc-net", "pvc-flush", "pvc-fence",
	"pvc-api", "pvc-dns", "pvc-meta", "pvc-ceph"};
static const char *const K_SUPERVISOR[] = { "user",
					    "users",
					    "group",
					    "allow_shared_user",
					    "heartbeat_interval_ms",
					    "hang_timeout_ms",
					    "restart_backoff_max_ms",
					    "healthy_reset_s",
					    "crashloop_max",
					    "crashloop_window_s",
					    "allow_no_landlock",
					    NULL };

static int load_intervals(struct ld *l, yaml_node_t *sys, const char *spath,
			  struct pvc_config *cfg)
{
	char p1[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *m1, *n, *sn;

	TRY(config_field_map(l, sys, spath, "intervals", 1, K_INTERVALS, &m1, p1, sizeof p1));
	TRY(config_field_int(l, m1, p1, "keepalive_interval", 1, 1, 3600, &cfg->keepalive_interval,
			     NULL));
	TRY(config_map_need(l, m1, p1, "fence_intervals", &n, path, sizeof path));
	TRY(config_value_int(l, n, path, 1, 1000,
			     " (0 would make every running node look dead at once and be fenced; "
			     "it does not disable fencing)",
			     &cfg->fence_intervals));
	TRY(config_field_int(l, m1, p1, "suicide_intervals", 1, 0, 1000, &cfg->suicide_intervals,
			     &sn));
	if (cfg->suicide_intervals != 0 && cfg->suicide_intervals + 1 > cfg->fence_intervals) {
		config_map_path(path, sizeof path, p1, "suicide_intervals");
		return err_node(l, sn, path,
				"must be 0 (off) or at most fence_intervals - 1 = %d, got %d: a node "
				"must fence itself at least one keepalive interval before its peers "
				"may declare it dead and recover its VMs elsewhere",
				cfg->fence_intervals - 1, cfg->suicide_intervals);
	}
	return 0;
}

/* ipmi.host: empty means <node>-lom.<domain> (<node>-lom without a domain). */
static int load_ipmi(struct ld *l, yaml_node_t *m1, const char *p1, struct pvc_config *cfg)
{
	char p2[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *m2, *hn;

	TRY(config_field_map(l, m1, p1, "ipmi", 1, K_IPMI, &m2, p2, sizeof p2));
	TRY(config_field_str(l, m2, p2, "host", 1, S_NULL_EMPTY, cfg->ipmi_host,
			     sizeof cfg->ipmi_host, &hn));
	if (!cfg->ipmi_host[0]) {
		int w;

		if (cfg->domain_name[0])
			w = snprintf(cfg->ipmi_host, sizeof cfg->ipmi_host, "%s-lom.%s",
				     cfg->node_name, cfg->domain_name);
		else
			w = snprintf(cfg->ipmi_host, sizeof cfg->ipmi_host, "%s-lom",
				     cfg->node_name);
		if (w < 0 || (size_t)w >= sizeof cfg->ipmi_host) {
			config_map_path(path, sizeof path, p2, "host");
			return err_node(l, hn, path,
					"empty, and the default <node>-lom.<domain> is too long; set it");
		}
	}
	TRY(config_field_str(l, m2, p2, "user", 1, S_NULL_EMPTY, cfg->ipmi_user,
			     sizeof cfg->ipmi_user, NULL));
	TRY(config_field_str(l, m2, p2, "pass", 1, S_NULL_EMPTY, cfg->ipmi_pass,
			     sizeof cfg->ipmi_pass, NULL));
	return 0;
}

static int load_fencing(struct ld *l, yaml_node_t *sys, const char *spath,
			struct pvc_config *cfg)
{
	static const char *const actions[] = { "migrate", "None", "none", NULL };
	static const char *const actions_c[] = { "migrate", "None", "None", NULL };
	char p1[KEYPATH_MAX], p2[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *m1, *m2, *n;

	TRY(config_field_map(l, sys, spath, "fencing", 1, K_FENCING, &m1, p1, sizeof p1));
	TRY(config_field_map(l, m1, p1, "actions", 1, K_ACTIONS, &m2, p2, sizeof p2));
	TRY(config_map_need(l, m2, p2, "successful_fence", &n, path, sizeof path));
	TRY(config_value_choice(l, n, path, actions, actions_c, "\"migrate\" or \"None\"",
				cfg->successful_fence, sizeof cfg->successful_fence));
	TRY(config_map_need(l, m2, p2, "failed_fence", &n, path, sizeof path));
	TRY(config_value_choice(l, n, path, actions, actions_c, "\"migrate\" or \"None\"",
				cfg->failed_fence, sizeof cfg->failed_fence));
	return load_ipmi(l, m1, p1, cfg);
}

static int load_migration(struct ld *l, yaml_node_t *sys, const char *spath,
			  struct pvc_config *cfg)
{
	static const char *const selectors[] = { "mem", "load", "vcpus", "vms", NULL };
	char p1[KEYPATH_MAX], path[KEYPATH_MAX];
	yaml_node_t *m1, *n;

	TRY(config_field_map(l, sys, spath, "migration", 1, K_MIGRATION, &m1, p1, sizeof p1));
	TRY(config_map_need(l, m1, p1, "target_selector", &n, path, sizeof path));
	TRY(config_value_choice(l, n, path, selectors, selectors, "one of mem, load, vcpus, vms",
				cfg->target_selector, sizeof cfg->target_selector));
	return 0;
}

/* An optional URI template; `out` holds the default already. */
static int load_uri(struct ld *l, yaml_node_t *m1, const char *p1, const char *key, char *out,
		    size_t outsz)
{
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = config_map_get(l, m1, p1, key, 0, &n, path, sizeof path);

	TRY(r);
	if (r)
		TRY(config_value_uri(l, n, path, out, outsz));
	return 0;
}

/* xml_policy: "strict" is kept as such, "permissive" (the default) as "". */
static int load_xml_policy(struct ld *l, yaml_node_t *m1, const char *p1, struct pvc_config *cfg)
{
	static const char *const words[] = { "permissive", "strict", NULL };
	static const char *const canon[] = { "", "strict", NULL };
	char path[KEYPATH_MAX];
	yaml_node_t *n;
	int r = config_map_get(l, m1, p1, "xml_policy", 0, &n, path, sizeof path);

	cfg->libvirt_xml_policy[0] = '\0';
	TRY(r);
	if (r)
		TRY(config_value_choice(l, n, path, words, canon, "permissive or strict",
					cfg->libvirt_xml_policy, sizeof cfg->libvirt_xml_policy));
	return 0;
}

static int load_libvirt(struct ld *l, yaml_node_t *sys, const char *spath,
			struct pvc_config *cfg)
{
	char p1[KEYPATH_MAX];
	yaml_node_t *m1;

	TRY(config_field_map(l, sys, spath, "libvirt", 0, K_LIBVIRT, &m1, p1, sizeof p1));
	snprintf(cfg->libvirt_uri, sizeof cfg->libvirt_uri, "%s", DEF_LIBVIRT_URI);
	snprintf(cfg->migration_uri, sizeof cfg->migration_uri, "%s", DEF_MIGRATION_URI);
	snprintf(cfg->migration_dest_uri, sizeof cfg->migration_dest_uri, "%s",
		 DEF_MIGRATION_DEST_URI);
	cfg->migration_timeout = DEF_MIGRATION_TIMEOUT;
	cfg->vm_shutdown_timeout = DEF_SHUTDOWN_TIMEOUT;
	TRY(load_uri(l, m1, p1, "uri", cfg->libvirt_uri, sizeof cfg->libvirt_uri));
	TRY(load_uri(l, m1, p1, "migration_uri", cfg->migration_uri, sizeof cfg->migration_uri));
	TRY(load_uri(l, m1, p1, "migration_dest_uri", cfg->migration_dest_uri,
		     sizeof cfg->migration_dest_uri));
	TRY(config_field_int(l, m1, p1, "migration_timeout", 0, 10, 86400, &cfg->migration_timeout,
			     NULL));
	TRY(config_field_int(l, m1, p1, "shutdown_timeout", 0, 1, 3600, &cfg->vm_shutdown_timeout,
			     NULL));
	return load_xml_policy(l, m1, p1, cfg);
}

static int load_flush(struct ld *l, yaml_node_t *sys, const char *spath, struct pvc_config *cfg)
{
	char p1[KEYPATH_MAX];
	yaml_node_t *m1;

	TRY(config_field_map(l, sys, spath, "flush", 0, K_FLUSH, &m1, p1, sizeof p1));
	cfg->flush_vm_timeout = DEF_FLUSH_VM_TIMEOUT;
	cfg->flush_in_flight = DEF_FLUSH_IN_FLIGHT;
	TRY(config_field_int(l, m1, p1, "vm_timeout", 0, 10, 86400, &cfg->flush_vm_timeout, NULL));
	TRY(config_field_int(l, m1, p1, "in_flight", 0, 1, 64, &cfg->flush_in_flight, NULL));
	return 0;
}

static int valid_user_name(const char *s)
{
	size_t i, len = strlen(s);

	if (len < 1 || len > 32)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      (c == '$' && i == len - 1)))
			return 0;
	}
	return 1;
}

/* A user or group name value: the shadow-utils rules, so that a typo is caught here
 * rather than by getpwnam() at start. */
static int load_name(struct ld *l, yaml_node_t *n, const char *path, const char *what, char *out,
		     size_t outsz)
{
	char got[SHOW_MAX * 4 + 32];

	TRY(config_value_str(l, n, path, S_NONEMPTY, out, outsz));
	if (valid_user_name(out))
		return 0;
	config_error_describe(n, got, sizeof got);
	return err_node(l, n, path,
			"expected a system %s name ([a-z_][a-z0-9_-]*, at most 32 characters), "
			"got %s",
			what, got);
}

/* A name any process may end up as: sharing it defeats one user per role. */
static int shared_by_nature(const char *name)
{
	return strcmp(name, "root") == 0 || strcmp(name, "nobody") == 0;
}

/* Without allow_shared_user: no role as root or nobody, no two roles as one user.
 * nodes[r] is where role r's user was set (NULL: default; then `un`, the .user
 * node, or the supervisor map). */
static int check_users_distinct(struct ld *l, yaml_node_t *m3, const char *p3,
				yaml_node_t *un, yaml_node_t *const *nodes,
				const struct pvc_config *cfg)
{
	char path[KEYPATH_MAX], pu[KEYPATH_MAX];

	for (int r = ROLE_ZK; r <= WORKER_LAST; r++) {
		const char *u = cfg->role_users[r];
		int dup = 0;

		for (int s = ROLE_ZK; s < r; s++)
			dup |= strcmp(cfg->role_users[s], u) == 0;
		if (!dup && !shared_by_nature(u))
			continue;
		if (un != NULL) {
			config_map_path(path, sizeof path, p3, "user");
			return err_node(l, un, path,
					"all worker roles would run as \"%s\", so a compromised "
					"worker could signal, ptrace or read the environment of the "
					"others; set pvc.system.supervisor.users (one system user per "
					"role) instead, or allow_shared_user: true (tests only)",
					u);
		}
		config_map_path(pu, sizeof pu, p3, "users");
		config_map_path(path, sizeof path, pu, K_USERS[r - ROLE_ZK]);
		return err_at(l, nodes[r] ? &nodes[r]->start_mark : m3 ? &m3->start_mark : NULL, path,
			      "\"%s\" %s; every role needs its own system user (allow_shared_user: "
			      "true allows it, for tests only)",
			      u, dup ? "is also the user of another role" : "is shared by nature");
	}
	return 0;
}

/* user (compat, all five roles) or users (one per role), group, allow_shared_user. */
static int load_worker_users(struct ld *l, yaml_node_t *m3, const char *p3,
			     struct pvc_config *cfg)
{
	char path[KEYPATH_MAX], pu[KEYPATH_MAX];
	yaml_node_t *un = NULL, *um = NULL, *nodes[CFG_ROLE_SLOTS] = {0};
	int r;

	cfg->worker_user[0] = '\0';
	for (r = ROLE_ZK; r <= WORKER_LAST; r++)
		snprintf(cfg->role_users[r], sizeof cfg->role_users[r], "%s", DEF_ROLE_USERS[r]);
	r = config_map_get(l, m3, p3, "user", 0, &un, path, sizeof path);
	TRY(r);
	if (r)
		TRY(load_name(l, un, path, "user", cfg->worker_user, sizeof cfg->worker_user));
	r = config_field_map(l, m3, p3, "users", 0, K_USERS, &um, pu, sizeof pu);
	TRY(r);
	if (r && un != NULL)
		return err_node(l, um, pu,
				"set either users (one user per role) or user (one user for "
				"every role, tests only), not both");
	for (r = ROLE_ZK; r <= WORKER_LAST; r++) {
		int got;

		if (un != NULL) {
			snprintf(cfg->role_users[r], sizeof cfg->role_users[r], "%s",
				 cfg->worker_user);
			continue;
		}
		got = config_map_get(l, um, pu, K_USERS[r - ROLE_ZK], 0, &nodes[r], path,
				     sizeof path);
		TRY(got);
		if (got)
			TRY(load_name(l, nodes[r], path, "user", cfg->role_users[r],
				      sizeof cfg->role_users[r]));
	}
	/* with the compat .user, its primary group stands in for the common group */
	snprintf(cfg->worker_group, sizeof cfg->worker_group, "%s", un ? "" : DEF_WORKER_GROUP);
	r = config_map_get(l, m3, p3, "group", 0, &nodes[0], path, sizeof path);
	TRY(r);
	if (r)
		TRY(load_name(l, nodes[0], path, "group", cfg->worker_group,
			      sizeof cfg->worker_group));
	TRY(config_field_bool(l, m3, p3, "allow_shared_user", 0, &cfg->allow_shared_user));
	if (!cfg->allow_shared_user)
		TRY(check_users_distinct(l, m3, p3, un, nodes, cfg));
	return 0;
}

/* heartbeat_interval_ms, and hang_timeout_ms, which must leave room for one missed
 * heartbeat. */
static int load_heartbeat(struct ld *l, yaml_node_t *m3, const char *p3,
			  struct pvc_config *cfg)
{
	char path[KEYPATH_MAX];
	yaml_node_t *hn, *hbn;
	int r;

	TRY(config_field_int(l, m3, p3, "heartbeat_interval_ms", 0, 50, 10000,
			     &cfg->heartbeat_interval_ms, &hbn));
	r = config_field_int(l, m3, p3, "hang_timeout_ms", 0, 100, 600000, &cfg->hang_timeout_ms,
			     &hn);
	TRY(r);
	if (cfg->hang_timeout_ms <= 2 * cfg->heartbeat_interval_ms) {
		config_map_path(path, sizeof path, p3, "hang_timeout_ms");
		if (r)
			return err_node(l, hn, path,
					"must be greater than 2 x heartbeat_interval_ms = %d (a "
					"worker may miss one heartbeat without being killed), got %d",
					2 * cfg->heartbeat_interval_ms, cfg->hang_timeout_ms);
		return err_at(l, hbn ? &hbn->start_mark : m3 ? &m3->start_mark : NULL, path,
				"the default %d is not greater than 2 x heartbeat_interval_ms = %d; "
				"set hang_timeout_ms explicitly",
				cfg->hang_timeout_ms, 2 * cfg->heartbeat_interval_ms);
	}
	return 0;
}

static int load_supervisor(struct ld *l, yaml_node_t *sys, const char *spath,
			   struct pvc_config *cfg)
{
	char p3[KEYPATH_MAX];
	yaml_node_t *m3;

	TRY(config_field_map(l, sys, spath, "supervisor", 0, K_SUPERVISOR, &m3, p3, sizeof p3));
	cfg->heartbeat_interval_ms = DEF_HEARTBEAT_MS;
	cfg->hang_timeout_ms = DEF_HANG_TIMEOUT_MS;
	cfg->restart_backoff_max_ms = DEF_RESTART_BACKOFF_MAX_MS;
	cfg->healthy_reset_s = DEF_HEALTHY_RESET_S;
	cfg->crashloop_max = DEF_CRASHLOOP_MAX;
	cfg->crashloop_window_s = DEF_CRASHLOOP_WINDOW_S;
	TRY(load_worker_users(l, m3, p3, cfg));
	TRY(load_heartbeat(l, m3, p3, cfg));
	TRY(config_field_int(l, m3, p3, "restart_backoff_max_ms", 0, 100, 600000,
			     &cfg->restart_backoff_max_ms, NULL));
	TRY(config_field_int(l, m3, p3, "healthy_reset_s", 0, 1, 86400, &cfg->healthy_reset_s,
			     NULL));
	TRY(config_field_int(l, m3, p3, "crashloop_max", 0, 1, 1000, &cfg->crashloop_max, NULL));
	TRY(config_field_int(l, m3, p3, "crashloop_window_s", 0, 1, 86400,
			     &cfg->crashloop_window_s, NULL));
	TRY(config_field_bool(l, m3, p3, "allow_no_landlock", 0, &cfg->allow_no_landlock));
	return 0;
}

int config_system_load(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg)
{
	char spath[KEYPATH_MAX];
	yaml_node_t *sys;

	TRY(config_field_map(l, pvc, "pvc", "system", 1, K_SYSTEM, &sys, spath, sizeof spath));
	TRY(load_intervals(l, sys, spath, cfg));
	TRY(load_fencing(l, sys, spath, cfg));
	TRY(load_migration(l, sys, spath, cfg));
	TRY(config_configuration_load(l, sys, spath, cfg));
	TRY(load_libvirt(l, sys, spath, cfg));
	TRY(load_flush(l, sys, spath, cfg));
	TRY(load_supervisor(l, sys, spath, cfg));
	TRY(config_api_load(l, sys, spath, cfg));
	TRY(config_ceph_load(l, sys, spath, cfg));
	return 0;
}
