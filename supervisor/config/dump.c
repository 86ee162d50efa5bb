/*
 * dump.c: pvcnoded --check-config -v: every parsed value as "key.path = value", in
 * the order of the file; secrets are masked.
 */
#include <stdio.h>

#include "config.h"
#include "pvc.h"

static const char *yn(int v)
{
	return v ? "True" : "False";
}

static const char *addr_or_none(const struct cfg_addr *a)
{
	return a->set ? a->text : "None";
}

static void dump_network(FILE *f, const char *name, const struct cfg_network *n, int upstream)
{
	fprintf(f, "pvc.cluster.networks.%s.domain = %s\n", name, n->domain);
	fprintf(f, "pvc.cluster.networks.%s.network = %s\n", name, addr_or_none(&n->network));
	fprintf(f, "pvc.cluster.networks.%s.floating_ip = %s\n", name,
		addr_or_none(&n->floating_ip));
	if (upstream)
		fprintf(f, "pvc.cluster.networks.%s.gateway = %s\n", name, addr_or_none(&n->gateway));
}

static void dump_db(FILE *f, const char *name, const struct cfg_db *d)
{
	fprintf(f, "pvc.coordinator.%s.database.host = %s\n", name, d->host);
	fprintf(f, "pvc.coordinator.%s.database.port = %d\n", name, d->port);
	fprintf(f, "pvc.coordinator.%s.database.name = %s\n", name, d->name);
	fprintf(f, "pvc.coordinator.%s.database.user = %s\n", name, d->user);
	fprintf(f, "pvc.coordinator.%s.database.pass = ********\n", name);
}

static void dump_iface(FILE *f, const char *name, const struct cfg_iface *i)
{
	fprintf(f, "pvc.system.configuration.networking.%s.device = %s\n", name, i->device);
	fprintf(f, "pvc.system.configuration.networking.%s.mtu = %d\n", name, i->mtu);
	fprintf(f, "pvc.system.configuration.networking.%s.address = %s\n", name,
		addr_or_none(&i->address));
}

/* identity, functions and pvc.cluster, pvc.coordinator */
static void dump_node(const struct pvc_config *cfg, FILE *f)
{
	int i;

	fprintf(f, "config_path = %s\n", cfg->config_path);
	fprintf(f, "node.name = %s\n", cfg->node_name);
	fprintf(f, "node.host_short_name = %s\n", cfg->host_short_name);
	fprintf(f, "node.domain = %s\n", cfg->domain_name);
	fprintf(f, "node.id = %d\n", cfg->node_id);
	fprintf(f, "node.mode = %s\n", cfg->is_coordinator ? "coordinator" : "hypervisor");
	fprintf(f, "pvc.debug = %s\n", yn(cfg->debug));
	fprintf(f, "pvc.functions.enable_hypervisor = %s\n", yn(cfg->enable_hypervisor));
	fprintf(f, "pvc.functions.enable_networking = %s\n", yn(cfg->enable_networking));
	fprintf(f, "pvc.functions.enable_storage = %s\n", yn(cfg->enable_storage));
	fprintf(f, "pvc.functions.enable_api = %s\n", yn(cfg->enable_api));
	fprintf(f, "pvc.cluster.coordinators = ");
	for (i = 0; i < cfg->coordinator_count && i < CFG_MAX_COORDINATORS; i++)
		fprintf(f, "%s%s", i ? "," : "", cfg->coordinators[i]);
	fprintf(f, "\n");
	if (cfg->enable_networking) {
		dump_network(f, "upstream", &cfg->upstream, 1);
		dump_network(f, "cluster", &cfg->cluster, 0);
		dump_network(f, "storage", &cfg->storage, 0);
	}
	fprintf(f, "pvc.cluster.zookeeper.hosts = %s\n", cfg->zk_hosts);
	fprintf(f, "pvc.cluster.zookeeper.session_timeout_ms = %d\n", cfg->zk_session_timeout_ms);
	/* the secret itself is never printed */
	fprintf(f, "pvc.cluster.zookeeper.auth.scheme = %s\n",
		cfg->zk_auth_scheme[0] ? cfg->zk_auth_scheme : "(none)");
	if (cfg->zk_auth_scheme[0])
		fprintf(f, "pvc.cluster.zookeeper.auth.secret_file = %s\n", cfg->zk_auth_secret_file);
	if (cfg->enable_networking) {
		dump_db(f, "dns", &cfg->dns_db);
		dump_db(f, "metadata", &cfg->metadata_db);
	}
}

/* pvc.system up to pvc.system.configuration.directories */
static void dump_system(const struct pvc_config *cfg, FILE *f)
{
	fprintf(f, "pvc.system.intervals.keepalive_interval = %d\n", cfg->keepalive_interval);
	fprintf(f, "pvc.system.intervals.fence_intervals = %d\n", cfg->fence_intervals);
	fprintf(f, "pvc.system.intervals.suicide_intervals = %d\n", cfg->suicide_intervals);
	fprintf(f, "pvc.system.fencing.actions.successful_fence = %s\n", cfg->successful_fence);
	fprintf(f, "pvc.system.fencing.actions.failed_fence = %s\n", cfg->failed_fence);
	fprintf(f, "pvc.system.fencing.ipmi.host = %s\n", cfg->ipmi_host);
	fprintf(f, "pvc.system.fencing.ipmi.user = %s\n", cfg->ipmi_user);
	fprintf(f, "pvc.system.fencing.ipmi.pass = ********\n");
	fprintf(f, "pvc.system.migration.target_selector = %s\n", cfg->target_selector);
	fprintf(f, "pvc.system.configuration.directories.dynamic_directory = %s\n",
		cfg->dynamic_directory);
	fprintf(f, "pvc.system.configuration.directories.log_directory = %s\n", cfg->log_directory);
	fprintf(f, "pvc.system.configuration.directories.console_log_directory = %s\n",
		cfg->console_log_directory);
}

/* pvc.system.configuration.logging and .networking */
static void dump_configuration(const struct pvc_config *cfg, FILE *f)
{
	fprintf(f, "pvc.system.configuration.logging.file_logging = %s\n", yn(cfg->file_logging));
	fprintf(f, "pvc.system.configuration.logging.stdout_logging = %s\n", yn(cfg->stdout_logging));
	fprintf(f, "pvc.system.configuration.logging.log_colours = %s\n", yn(cfg->log_colours));
	fprintf(f, "pvc.system.configuration.logging.log_dates = %s\n", yn(cfg->log_dates));
	fprintf(f, "pvc.system.configuration.logging.log_keepalives = %s\n", yn(cfg->log_keepalives));
	fprintf(f, "pvc.system.configuration.logging.log_keepalive_cluster_details = %s\n",
		yn(cfg->log_keepalive_cluster_details));
	fprintf(f, "pvc.system.configuration.logging.log_keepalive_storage_details = %s\n",
		yn(cfg->log_keepalive_storage_details));
	fprintf(f, "pvc.system.configuration.logging.console_log_lines = %d\n",
		cfg->console_log_lines);
	if (cfg->enable_networking) {
		fprintf(f, "pvc.system.configuration.networking.bridge_device = %s\n",
			cfg->bridge_device);
		dump_iface(f, "upstream", &cfg->if_upstream);
		dump_iface(f, "cluster", &cfg->if_cluster);
		dump_iface(f, "storage", &cfg->if_storage);
	}
}

void config_dump(const struct pvc_config *cfg, FILE *f)
{
	dump_node(cfg, f);
	dump_system(cfg, f);
	dump_configuration(cfg, f);
	/* the sections pvcnoded adds */
	fprintf(f, "pvc.system.ceph.conf = %s\n", cfg->ceph_conf);
	fprintf(f, "pvc.system.ceph.keyring = %s\n", cfg->ceph_keyring);
	fprintf(f, "pvc.system.ceph.client = %s\n", cfg->ceph_client);
	fprintf(f, "pvc.system.libvirt.uri = %s\n", cfg->libvirt_uri);
	fprintf(f, "pvc.system.libvirt.migration_uri = %s\n", cfg->migration_uri);
	fprintf(f, "pvc.system.libvirt.migration_dest_uri = %s\n", cfg->migration_dest_uri);
	fprintf(f, "pvc.system.libvirt.migration_timeout = %d\n", cfg->migration_timeout);
	fprintf(f, "pvc.system.libvirt.shutdown_timeout = %d\n", cfg->vm_shutdown_timeout);
	fprintf(f, "pvc.system.libvirt.xml_policy = %s\n",
		cfg->libvirt_xml_policy[0] ? cfg->libvirt_xml_policy : "permissive");
	fprintf(f, "pvc.system.flush.vm_timeout = %d\n", cfg->flush_vm_timeout);
	fprintf(f, "pvc.system.flush.in_flight = %d\n", cfg->flush_in_flight);
	fprintf(f, "pvc.system.api.systemctl = %s%s\n", cfg->api_systemctl,
		cfg->api_systemctl_set ? "" : " (default: only when PID 1 is systemd)");
	fprintf(f, "pvc.system.api.patronictl = %s\n", cfg->api_patronictl);
	fprintf(f, "pvc.system.api.command_timeout_ms = %d\n", cfg->api_command_timeout_ms);
	if (cfg->worker_user[0])
		fprintf(f, "pvc.system.supervisor.user = %s\n", cfg->worker_user);
	for (int r = 1; r < CFG_ROLE_SLOTS; r++)
		fprintf(f, "pvc.system.supervisor.users.%s = %s\n", role_name((enum pvc_role)r),
			cfg->role_users[r]);
	fprintf(f, "pvc.system.supervisor.group = %s\n",
		cfg->worker_group[0] ? cfg->worker_group : "(primary group of .user)");
	fprintf(f, "pvc.system.supervisor.allow_shared_user = %s\n", yn(cfg->allow_shared_user));
	fprintf(f, "pvc.system.supervisor.heartbeat_interval_ms = %d\n", cfg->heartbeat_interval_ms);
	fprintf(f, "pvc.system.supervisor.hang_timeout_ms = %d\n", cfg->hang_timeout_ms);
	fprintf(f, "pvc.system.supervisor.restart_backoff_max_ms = %d\n",
		cfg->restart_backoff_max_ms);
	fprintf(f, "pvc.system.supervisor.healthy_reset_s = %d\n", cfg->healthy_reset_s);
	fprintf(f, "pvc.system.supervisor.crashloop_max = %d\n", cfg->crashloop_max);
	fprintf(f, "pvc.system.supervisor.crashloop_window_s = %d\n", cfg->crashloop_window_s);
	fprintf(f, "pvc.system.supervisor.allow_no_landlock = %s\n", yn(cfg->allow_no_landlock));
}
