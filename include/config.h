/*
 * config.h: pvcnoded.yaml, parsed once by the supervisor (supervisor/config/) and sent
 * to each worker as a flat struct (MSG_CONFIG) with the fields it does not need
 * cleared (config_for_role()).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define CFG_NAME_MAX 64
#define CFG_TEXT_MAX 256
#define CFG_PATH_MAX 256
#define CFG_IFNAME_MAX 16
#define CFG_MAX_COORDINATORS 16
#define CFG_ROLE_SLOTS 10 /* ROLE_ZK..ROLE_CEPH of pvc.h, index 0 unused */

/* An address as written in the config, plus its parsed form. */
struct cfg_addr {
	int set;        /* 0: absent / "None" */
	int family;     /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;     /* -1 if the text had no "/prefix" */
	char text[64];  /* canonical text "a.b.c.d/nn" (or without /nn if prefix < 0) */
};

/* pvc.cluster.networks.{upstream,cluster,storage} */
struct cfg_network {
	char domain[CFG_TEXT_MAX];
	struct cfg_addr network;     /* CIDR */
	struct cfg_addr floating_ip; /* address with prefix */
	struct cfg_addr gateway;     /* upstream only; may be unset */
};

/* pvc.system.configuration.networking.{upstream,cluster,storage} */
struct cfg_iface {
	char device[CFG_IFNAME_MAX];
	int mtu;
	struct cfg_addr address; /* "by-id" already resolved; unset for "None" */
};

struct cfg_db {
	char host[CFG_TEXT_MAX];
	int port;
	char name[CFG_NAME_MAX];
	char user[CFG_NAME_MAX];
	char pass[CFG_TEXT_MAX];
};

struct pvc_config {
	char config_path[CFG_PATH_MAX];

	/* identity */
	char node_name[CFG_NAME_MAX]; /* pvc.node, else the short host name */
	char host_short_name[CFG_TEXT_MAX]; /* the host name up to the first dot (what the
					     * reference registers under) */
	char domain_name[CFG_TEXT_MAX];/* host domain (after the first dot), may be empty */
	int node_id;                  /* last run of digits in node_name, else 1 */
	int is_coordinator;
	int debug;

	/* pvc.functions */
	int enable_hypervisor, enable_networking, enable_storage, enable_api;

	/* pvc.cluster */
	int coordinator_count;
	char coordinators[CFG_MAX_COORDINATORS][CFG_NAME_MAX];
	struct cfg_network upstream, cluster, storage;

	/* pvc.coordinator */
	struct cfg_db dns_db, metadata_db;

	/* pvc.system.intervals */
	int keepalive_interval; /* s */
	int fence_intervals;
	int suicide_intervals;

	/* pvc.system.fencing */
	char successful_fence[16]; /* "migrate" | "None" */
	char failed_fence[16];
	char ipmi_host[CFG_TEXT_MAX];
	char ipmi_user[CFG_NAME_MAX];
	char ipmi_pass[CFG_TEXT_MAX]; /* secret: only sent to zk-election (published to ZK as the reference does) */

	/* pvc.system.migration */
	char target_selector[16]; /* mem | load | vcpus | vms */

	/* pvc.system.configuration.directories */
	char dynamic_directory[CFG_PATH_MAX];
	char log_directory[CFG_PATH_MAX];
	char console_log_directory[CFG_PATH_MAX];

	/* pvc.system.configuration.logging */
	int file_logging, stdout_logging, log_colours, log_dates;
	int log_keepalives, log_keepalive_cluster_details, log_keepalive_storage_details;
	int console_log_lines;

	/* pvc.system.configuration.networking */
	char bridge_device[CFG_IFNAME_MAX];
	struct cfg_iface if_upstream, if_cluster, if_storage;

	/* ---- keys added by pvcnoded (documented in the sample config) ---------- */
	/* pvc.cluster.zookeeper */
	char zk_hosts[1024];       /* .hosts, default "<coord1>:2181,<coord2>:2181,..." */
	int zk_session_timeout_ms; /* .session_timeout_ms, default 10000, >= 3000 */
	/* pvc.cluster.zookeeper.auth (absent: no authentication, nodes created world-open) */
	char zk_auth_scheme[16];               /* .scheme: "" or "digest" */
	char zk_auth_secret_file[CFG_PATH_MAX]; /* .secret_file, root-owned, mode 0600/0400 */
	char zk_auth_secret[CFG_TEXT_MAX];     /* "user:password" read from it at load;
						* secret: only sent to zk-election */
	/* pvc.system.libvirt */
	char libvirt_uri[CFG_TEXT_MAX];      /* .uri, default "qemu:///system" */
	char migration_uri[CFG_TEXT_MAX];    /* .migration_uri, default "qemu+tcp://{node}.{domain}/system" */
	char migration_dest_uri[CFG_TEXT_MAX];/* .migration_dest_uri, default "tcp://{node}.{domain}" */
	int migration_timeout;               /* .migration_timeout s, default 300 */
	int vm_shutdown_timeout;             /* .shutdown_timeout s, default 90 */
	/* .xml_policy "permissive" (default: any domain XML, as the reference) or "strict":
	 * refuse XML that reaches the host (docs/vm-manager.md); this holds "strict" or "" */
	char libvirt_xml_policy[16];
	/* pvc.system.ceph (supervisor/config/ceph.c): the ceph worker's librados client */
	char ceph_conf[CFG_PATH_MAX];    /* .conf, default /etc/ceph/ceph.conf */
	char ceph_keyring[CFG_PATH_MAX]; /* .keyring, default "": the one ceph.conf names */
	char ceph_client[64];            /* .client (cephx name without "client."), "admin" */
	/* pvc.system.flush */
	int flush_vm_timeout;  /* .vm_timeout s, default 600 */
	int flush_in_flight;   /* .in_flight, default 1 */
	/* pvc.system.api (api-units: the API units and the Patroni leader follow the
	 * primary; only read on coordinators with enable_api) */
	char api_systemctl[CFG_PATH_MAX];  /* .systemctl, default /usr/bin/systemctl */
	char api_patronictl[CFG_PATH_MAX]; /* .patronictl, default /usr/bin/patronictl */
	int api_systemctl_set;             /* .systemctl given: run it even when PID 1 is
					    * not systemd (a wrapper; the tests' stub) */
	int api_command_timeout_ms;        /* .command_timeout_ms, default 120000 */
	/* pvc.system.supervisor */
	/* One system user per worker role, so that no worker can signal, ptrace or read
	 * /proc/PID/environ of another. */
	char role_users[CFG_ROLE_SLOTS][CFG_NAME_MAX]; /* .users.<role name>, indexed by
							 * enum pvc_role (pvc.h), defaults
							 * pvc-zk, pvc-vm, pvc-net, pvc-flush,
							 * pvc-fence, pvc-api, pvc-dns, pvc-meta,
							 * pvc-ceph; [0] unused */
	char worker_user[CFG_NAME_MAX]; /* .user (compat/tests: all five roles), "" if unset;
					 * config_for_role() puts the role's own user here */
	char worker_group[CFG_NAME_MAX];/* .group, default "pvc": every role user is a member;
					 * the daemon's directories are root:<group> 0750.
					 * "" (only with .user): that user's primary group */
	int allow_shared_user;          /* .allow_shared_user, default 0 (tests only): allow
					 * roles sharing a user, nobody (65534) */
	int heartbeat_interval_ms;      /* .heartbeat_interval_ms, default 1500 */
	int hang_timeout_ms;            /* .hang_timeout_ms, default 3200 */
	int restart_backoff_max_ms;     /* .restart_backoff_max_ms, default 30000 */
	int healthy_reset_s;            /* .healthy_reset_s, default 60 */
	int crashloop_max;              /* .crashloop_max, default 10 */
	int crashloop_window_s;         /* .crashloop_window_s, default 60 */
	int allow_no_landlock;          /* .allow_no_landlock, default 0: refuse to start on a
					 * kernel without Landlock */
};

/*
 * Parse and validate `path`. On failure returns -1 and writes one message to `err`
 * of the form "<file>:<line>:<col>: <key.path>: <what was expected>".
 * `hostname` overrides gethostname() (NULL: use the real one).
 */
int config_load(const char *path, const char *hostname, struct pvc_config *cfg, char *err,
		size_t errlen);

/*
 * config_load() for a file the daemon will run with (pvcnoded and --check-config):
 * first refuses a file not owned by root or readable/writable by group or others (it
 * holds the IPMI and database passwords); the error names the file, its owner and mode.
 */
int config_load_secure(const char *path, const char *hostname, struct pvc_config *cfg,
		       char *err, size_t errlen);

/* 1 when pvc.node overrides a different short host name (the reference registers under
 * the host name, so other tools may look for this node under that one), with the
 * warning text written to `buf`; 0 when they are equal (or pvc.node is unset). */
int config_node_name_warning(const struct pvc_config *cfg, char *buf, size_t size);

/* Path selection: -c FILE, else $PVCD_CONFIG_FILE, else /etc/pvc/pvcnoded.yaml. */
const char *config_default_path(const char *cli_path);

/* Copy of cfg with what `role` must not see cleared (secrets, unrelated sections). */
void config_for_role(const struct pvc_config *cfg, int role, struct pvc_config *out);

/* 1 if the worker `role` runs on this node (the five base roles always; the primary's
 * services and ceph only where their pvc.functions switch and the node's kind ask for
 * them). The supervisor starts, resolves the user of and heart-beats only these. */
int config_role_wanted(const struct pvc_config *cfg, int role);

/* Human-readable dump (pvcnoded --check-config -v); secrets are masked. */
void config_dump(const struct pvc_config *cfg, FILE *out);

#endif
