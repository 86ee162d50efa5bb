/*
 * test_config.c: supervisor/config/ against docs/pvcnoded.sample.yaml,
 * tests/configs/good-*.yaml and every tests/configs/bad/NAME.yaml (one test each;
 * the first line of a bad file is "# expect: <substring of the error>").
 *
 * Files are found under $PVC_SRCDIR, else relative to this source file, the binary
 * (<root>/build/tests/test_config) or the current directory.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "pvc.h"

#define MIN_BAD_CASES 20

static char srcdir[PATH_MAX];

static int has_sample(const char *dir)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof p, "%s/docs/pvcnoded.sample.yaml", dir);
	return access(p, R_OK) == 0;
}

static void find_srcdir(void)
{
	const char *env = getenv("PVC_SRCDIR");
	char buf[PATH_MAX], *s;
	ssize_t n;

	if (env && env[0] && has_sample(env)) {
		snprintf(srcdir, sizeof srcdir, "%s", env);
		return;
	}
	/* __FILE__ = <root>/tests/unit/test_config.c (or relative to the root) */
	snprintf(buf, sizeof buf, "%s", __FILE__);
	s = strstr(buf, "tests/unit/test_config.c");
	if (s) {
		*s = '\0';
		if (!buf[0])
			snprintf(buf, sizeof buf, ".");
		if (has_sample(buf)) {
			snprintf(srcdir, sizeof srcdir, "%s", buf);
			return;
		}
	}
	n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n > 0) {
		buf[n] = '\0';
		for (int up = 0; up < 3; up++) {
			s = strrchr(buf, '/');
			if (!s)
				break;
			*s = '\0';
			if (has_sample(buf)) {
				snprintf(srcdir, sizeof srcdir, "%s", buf);
				return;
			}
		}
	}
	snprintf(srcdir, sizeof srcdir, ".");
}

static void src_path(char *out, size_t sz, const char *rel)
{
	snprintf(out, sz, "%s/%s", srcdir, rel);
}

/* Write `text` to a fresh temporary file; returns its path (static per call site). */
static void write_tmp(char *path, size_t sz, const char *text)
{
	const char *tmp = getenv("TMPDIR");
	int fd;
	size_t len = strlen(text);

	snprintf(path, sz, "%s/test_config.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Replace the one occurrence of `from` in `text` (must exist exactly once). */
static char *replace_once(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;
	size_t a, fl = strlen(from), tl = strlen(to);

	assert_non_null(at);
	assert_null(strstr(at + 1, from));
	a = (size_t)(at - text);
	out = malloc(strlen(text) - fl + tl + 1);
	assert_non_null(out);
	memcpy(out, text, a);
	memcpy(out + a, to, tl);
	strcpy(out + a + tl, at + fl);
	return out;
}

static void load_ok(const char *rel, const char *host, struct pvc_config *cfg)
{
	char path[PATH_MAX + 64], err[1024] = "";
	int rc;

	src_path(path, sizeof path, rel);
	rc = config_load(path, host, cfg, err, sizeof err);
	if (rc != 0)
		print_error("config_load(%s): %s\n", path, err);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
}

/* ------------------------------------------------------------------------- */

static void test_sample_values(void **state)
{
	struct pvc_config c;

	(void)state;
	load_ok("docs/pvcnoded.sample.yaml", "pvchv12.example.com", &c);

	assert_string_equal(c.node_name, "pvchv12");
	assert_string_equal(c.domain_name, "example.com");
	assert_int_equal(c.node_id, 12);
	assert_int_equal(c.is_coordinator, 0);
	assert_int_equal(c.debug, 0);
	assert_true(c.enable_hypervisor && c.enable_networking && c.enable_storage && c.enable_api);

	assert_int_equal(c.coordinator_count, 3);
	assert_string_equal(c.coordinators[0], "pvchv1");
	assert_string_equal(c.coordinators[1], "pvchv2");
	assert_string_equal(c.coordinators[2], "pvchv3");

	assert_string_equal(c.upstream.domain, "mydomain.net");
	assert_string_equal(c.upstream.network.text, "1.1.1.0/24");
	assert_string_equal(c.upstream.floating_ip.text, "1.1.1.10/24");
	assert_int_equal(c.upstream.gateway.set, 1);
	assert_string_equal(c.upstream.gateway.text, "1.1.1.1");
	assert_int_equal(c.upstream.gateway.prefix, -1);
	assert_string_equal(c.cluster.domain, "pvc.local");
	assert_string_equal(c.cluster.network.text, "10.255.0.0/24");
	assert_int_equal(c.cluster.network.prefix, 24);
	assert_string_equal(c.cluster.floating_ip.text, "10.255.0.254/24");
	assert_string_equal(c.storage.network.text, "10.254.0.0/24");
	assert_string_equal(c.storage.floating_ip.text, "10.254.0.254/24");

	assert_string_equal(c.dns_db.host, "localhost");
	assert_int_equal(c.dns_db.port, 5432);
	assert_string_equal(c.dns_db.name, "pvcdns");
	assert_string_equal(c.dns_db.user, "pvcdns");
	assert_string_equal(c.dns_db.pass, "pvcdns");
	assert_string_equal(c.metadata_db.name, "pvcprov");
	assert_string_equal(c.metadata_db.pass, "pvcprov");

	assert_int_equal(c.keepalive_interval, 5);
	assert_int_equal(c.fence_intervals, 6);
	assert_int_equal(c.suicide_intervals, 0);
	assert_string_equal(c.successful_fence, "migrate");
	assert_string_equal(c.failed_fence, "None");
	assert_string_equal(c.ipmi_host, "pvchv1-lom");
	assert_string_equal(c.ipmi_user, "admin");
	assert_string_equal(c.ipmi_pass, "Passw0rd");
	assert_string_equal(c.target_selector, "mem");
	assert_string_equal(c.dynamic_directory, "/run/pvc");
	assert_string_equal(c.log_directory, "/var/log/pvc");
	assert_string_equal(c.console_log_directory, "/var/log/libvirt");
	assert_true(c.file_logging && c.stdout_logging && c.log_colours && c.log_dates);
	assert_true(c.log_keepalives && c.log_keepalive_cluster_details &&
		    c.log_keepalive_storage_details);
	assert_int_equal(c.console_log_lines, 1000);

	assert_string_equal(c.bridge_device, "ens4");
	assert_string_equal(c.if_upstream.device, "ens4");
	assert_int_equal(c.if_upstream.mtu, 1500);
	assert_int_equal(c.if_upstream.address.set, 0); /* None */
	/* by-id: node 12 -> 12th usable host, with the network's prefix */
	assert_int_equal(c.if_cluster.address.set, 1);
	assert_string_equal(c.if_cluster.address.text, "10.255.0.12/24");
	assert_int_equal(c.if_cluster.address.prefix, 24);
	assert_string_equal(c.if_storage.address.text, "10.254.0.12/24");

	/* pvcnoded keys: defaults (hosts is present but empty in the sample) */
	assert_string_equal(c.zk_hosts, "pvchv1:2181,pvchv2:2181,pvchv3:2181");
	assert_int_equal(c.zk_session_timeout_ms, 10000);
	assert_string_equal(c.libvirt_uri, "qemu:///system");
	assert_string_equal(c.migration_uri, "qemu+tcp://{node}.{domain}/system");
	assert_string_equal(c.migration_dest_uri, "tcp://{node}.{domain}");
	assert_int_equal(c.migration_timeout, 300);
	assert_int_equal(c.vm_shutdown_timeout, 90);
	assert_int_equal(c.flush_vm_timeout, 600);
	assert_int_equal(c.flush_in_flight, 1);
	assert_string_equal(c.worker_user, "");
	assert_string_equal(c.role_users[ROLE_ZK], "pvc-zk");
	assert_string_equal(c.role_users[ROLE_VM], "pvc-vm");
	assert_string_equal(c.role_users[ROLE_NET], "pvc-net");
	assert_string_equal(c.role_users[ROLE_FLUSH], "pvc-flush");
	assert_string_equal(c.role_users[ROLE_FENCE], "pvc-fence");
	assert_string_equal(c.worker_group, "pvc");
	assert_int_equal(c.allow_shared_user, 0);
	assert_int_equal(c.heartbeat_interval_ms, 1500);
	assert_int_equal(c.hang_timeout_ms, 3200);
	assert_int_equal(c.restart_backoff_max_ms, 30000);
	assert_int_equal(c.healthy_reset_s, 60);
	assert_int_equal(c.crashloop_max, 10);
	assert_int_equal(c.crashloop_window_s, 60);
	assert_string_equal(c.api_systemctl, "/usr/bin/systemctl");
	assert_string_equal(c.api_patronictl, "/usr/bin/patronictl");
	assert_int_equal(c.api_systemctl_set, 0);
	assert_int_equal(c.api_command_timeout_ms, 120000);
	assert_non_null(strstr(c.config_path, "docs/pvcnoded.sample.yaml"));
}

/* Every pvcnoded key is present in the sample (documented there). */
static void test_sample_documents_added_keys(void **state)
{
	static const char *const keys[] = {
		"    zookeeper:\n", "      hosts:", "      session_timeout_ms:", "    libvirt:\n",
		"      uri:", "      migration_uri:", "      migration_dest_uri:",
		"      migration_timeout:", "      shutdown_timeout:", "    flush:\n",
		"      vm_timeout:", "      in_flight:", "    supervisor:\n", "      users:",
		"      group:", "      allow_shared_user:",
		"      heartbeat_interval_ms:", "      hang_timeout_ms:",
		"      restart_backoff_max_ms:", "      healthy_reset_s:", "      crashloop_max:",
		"      crashloop_window_s:", "      allow_no_landlock:", "    api:\n",
		"      # systemctl:", "      # patronictl:", "      command_timeout_ms:", "    ceph:\n",
		"      conf:", "      keyring:", "      client:", NULL
	};
	char path[PATH_MAX + 64];
	char *text;

	(void)state;
	src_path(path, sizeof path, "docs/pvcnoded.sample.yaml");
	text = read_all(path);
	for (int i = 0; keys[i]; i++) {
		const char *at = strstr(text, keys[i]);

		if (!at)
			print_error("sample lacks %s\n", keys[i]);
		assert_non_null(at);
	}
	free(text);
}

static void test_sample_coordinator_id1(void **state)
{
	struct pvc_config c;

	(void)state;
	load_ok("docs/pvcnoded.sample.yaml", "pvchv1", &c);
	assert_string_equal(c.node_name, "pvchv1");
	assert_string_equal(c.domain_name, "");
	assert_int_equal(c.node_id, 1);
	assert_int_equal(c.is_coordinator, 1);
	assert_string_equal(c.if_cluster.address.text, "10.255.0.1/24");
	assert_string_equal(c.if_storage.address.text, "10.254.0.1/24");
}

static void test_hostname_without_digits(void **state)
{
	struct pvc_config c;

	(void)state;
	load_ok("docs/pvcnoded.sample.yaml", "hypervisor.dc1.example.com", &c);
	assert_string_equal(c.node_name, "hypervisor");
	assert_string_equal(c.domain_name, "dc1.example.com");
	assert_int_equal(c.node_id, 1);
	assert_int_equal(c.is_coordinator, 0);
	assert_string_equal(c.if_cluster.address.text, "10.255.0.1/24");

	/* the LAST run of digits; leading zeros do not matter */
	load_ok("docs/pvcnoded.sample.yaml", "rack2-node007", &c);
	assert_int_equal(c.node_id, 7);
	assert_string_equal(c.if_storage.address.text, "10.254.0.7/24");
}

static void test_pvc_node_overrides(void **state)
{
	char src[PATH_MAX + 64], tmp[PATH_MAX], err[1024];
	char *text, *mod;
	struct pvc_config c;

	(void)state;
	src_path(src, sizeof src, "docs/pvcnoded.sample.yaml");
	text = read_all(src);
	mod = replace_once(text, "  #node: pvchv1\n", "  node: pvchv3\n");
	write_tmp(tmp, sizeof tmp, mod);
	assert_int_equal(config_load(tmp, "pvchv12.example.com", &c, err, sizeof err), 0);
	assert_string_equal(c.node_name, "pvchv3");
	assert_string_equal(c.domain_name, "example.com"); /* from the real host name */
	assert_int_equal(c.node_id, 3);
	assert_int_equal(c.is_coordinator, 1);
	assert_string_equal(c.if_cluster.address.text, "10.255.0.3/24");
	assert_string_equal(c.config_path, tmp);
	unlink(tmp);
	free(mod);
	free(text);
}

static void test_good_minimal(void **state)
{
	struct pvc_config c;

	(void)state;
	load_ok("tests/configs/good-minimal.yaml", "hv2.dc1.example", &c);
	assert_string_equal(c.node_name, "hv2");
	assert_int_equal(c.node_id, 2);
	assert_int_equal(c.is_coordinator, 1);
	assert_int_equal(c.enable_hypervisor, 1);
	assert_int_equal(c.enable_networking, 0);
	assert_int_equal(c.enable_storage, 0);
	assert_int_equal(c.enable_api, 0);
	assert_int_equal(c.debug, 0);
	assert_string_equal(c.zk_hosts, "hv1:2181,hv2:2181,hv3:2181");
	assert_string_equal(c.failed_fence, "None"); /* "none" normalised */
	assert_string_equal(c.ipmi_host, "hv2-lom.dc1.example");
	assert_string_equal(c.dynamic_directory, "/run/pvc"); /* trailing slash dropped */
	assert_string_equal(c.target_selector, "vcpus");
	assert_int_equal(c.file_logging, 0);
	assert_int_equal(c.log_colours, 1); /* Yes */
	assert_int_equal(c.log_dates, 1);   /* ON */
	assert_int_equal(c.console_log_lines, 0);
	assert_int_equal(c.upstream.network.set, 0);
	assert_int_equal(c.if_cluster.address.set, 0);
	/* pvc.system.ceph absent: the ceph CLI's defaults */
	assert_string_equal(c.ceph_conf, "/etc/ceph/ceph.conf");
	assert_string_equal(c.ceph_keyring, "");
	assert_string_equal(c.ceph_client, "admin");

	load_ok("tests/configs/good-minimal.yaml", "standalone", &c);
	assert_string_equal(c.ipmi_host, "standalone-lom");
	assert_int_equal(c.is_coordinator, 0);
	assert_int_equal(c.node_id, 1);
}

static void test_good_networking(void **state)
{
	struct pvc_config c;

	(void)state;
	load_ok("tests/configs/good-networking.yaml", "ignored.example.net", &c);
	assert_string_equal(c.node_name, "pvchv2");
	assert_string_equal(c.domain_name, "example.net");
	assert_int_equal(c.node_id, 2);
	assert_int_equal(c.is_coordinator, 1);
	assert_int_equal(c.debug, 1);
	assert_int_equal(c.upstream.gateway.set, 0); /* empty -> unset */
	assert_string_equal(c.upstream.floating_ip.text, "192.0.2.14/28");
	assert_string_equal(c.if_upstream.address.text, "192.0.2.5/28");
	assert_string_equal(c.if_upstream.device, "eno2.100");
	assert_string_equal(c.cluster.floating_ip.text, "10.10.255.254/16");
	assert_string_equal(c.if_cluster.address.text, "10.10.0.2/16");
	assert_int_equal(c.if_cluster.mtu, 9000);
	assert_string_equal(c.storage.network.text, "fd00:10::/64");
	assert_string_equal(c.if_storage.address.text, "fd00:10::2/64");
	assert_int_equal(c.if_storage.address.prefix, 64);
	assert_string_equal(c.zk_hosts, "zk1.example.org:2182,[fd00::1]:2182");
	assert_int_equal(c.zk_session_timeout_ms, 6000);
	assert_int_equal(c.dns_db.port, 5433);
	assert_string_equal(c.dns_db.pass, "dnssecret");
	assert_string_equal(c.metadata_db.pass, "provsecret");
	assert_int_equal(c.suicide_intervals, 9);
	assert_int_equal(c.fence_intervals, 10);
	assert_string_equal(c.successful_fence, "None");
	assert_string_equal(c.failed_fence, "migrate");
	assert_string_equal(c.ipmi_pass, "p@ss: word");
	assert_string_equal(c.libvirt_uri, "qemu+tcp://{node}/system");
	assert_string_equal(c.migration_uri, "qemu+ssh://{node}.{domain}/system");
	assert_string_equal(c.migration_dest_uri, "tcp://{node}.{domain}:49152");
	assert_int_equal(c.migration_timeout, 120);
	assert_int_equal(c.vm_shutdown_timeout, 30);
	assert_int_equal(c.flush_vm_timeout, 900);
	assert_int_equal(c.flush_in_flight, 2);
	assert_string_equal(c.worker_user, "");
	assert_string_equal(c.role_users[ROLE_ZK], "pvcnode-zk");
	assert_string_equal(c.role_users[ROLE_FLUSH], "pvcnode-flush");
	assert_string_equal(c.role_users[ROLE_FENCE], "pvc-fence"); /* default */
	assert_string_equal(c.worker_group, "pvcnode");
	assert_int_equal(c.heartbeat_interval_ms, 1000);
	assert_int_equal(c.hang_timeout_ms, 5000);
	assert_int_equal(c.restart_backoff_max_ms, 10000);
	assert_int_equal(c.healthy_reset_s, 120);
	assert_int_equal(c.crashloop_max, 5);
	assert_int_equal(c.crashloop_window_s, 300);
}

/* the DNS aggregator runs where the reference's does: coordinators with networking */
static void test_dns_role_wanted(void **state)
{
	struct pvc_config c;

	(void)state;
	load_ok("tests/configs/good-networking.yaml", "pvchv2", &c);
	c.is_coordinator = 1;
	c.enable_networking = 1;
	assert_int_equal(config_role_wanted(&c, ROLE_DNS), 1);
	c.enable_networking = 0;
	assert_int_equal(config_role_wanted(&c, ROLE_DNS), 0);
	c.enable_networking = 1;
	c.is_coordinator = 0;
	assert_int_equal(config_role_wanted(&c, ROLE_DNS), 0);
}

static void test_for_role(void **state)
{
	struct pvc_config c, r;
	int role;

	(void)state;
	load_ok("tests/configs/good-networking.yaml", "pvchv2", &c);
	for (role = 0; role < ROLE_COUNT; role++) {
		config_for_role(&c, role, &r);
		if (role == ROLE_ZK) {
			assert_string_equal(r.ipmi_pass, "p@ss: word");
			assert_string_equal(r.zk_hosts, c.zk_hosts);
		} else {
			assert_string_equal(r.ipmi_pass, "");
			assert_string_equal(r.zk_hosts, "");
		}
		/* each database password only to the role that connects with it */
		assert_string_equal(r.dns_db.pass, role == ROLE_DNS ? "dnssecret" : "");
		assert_string_equal(r.metadata_db.pass, role == ROLE_META ? "provsecret" : "");
		/* everything else is kept */
		assert_string_equal(r.node_name, "pvchv2");
		assert_string_equal(r.ipmi_user, "ADMIN");
		assert_string_equal(r.dns_db.user, "pvcdns");
		assert_int_equal(r.keepalive_interval, 2);
		assert_string_equal(r.if_cluster.address.text, "10.10.0.2/16");
		/* a worker switches to worker_user: its own role's user */
		if (role >= WORKER_FIRST && role <= WORKER_LAST)
			assert_string_equal(r.worker_user, c.role_users[role]);
		else
			assert_string_equal(r.worker_user, "");
	}
	/* the source is untouched */
	assert_string_equal(c.ipmi_pass, "p@ss: word");
	assert_string_equal(c.dns_db.pass, "dnssecret");
	/* in place */
	r = c;
	config_for_role(&r, ROLE_VM, &r);
	assert_string_equal(r.ipmi_pass, "");
	assert_string_equal(r.dns_db.pass, "");
	assert_string_equal(r.zk_hosts, "");
}

static void test_default_path(void **state)
{
	(void)state;
	assert_int_equal(setenv("PVCD_CONFIG_FILE", "/env/pvcnoded.yaml", 1), 0);
	assert_string_equal(config_default_path("/cli/x.yaml"), "/cli/x.yaml");
	assert_string_equal(config_default_path(NULL), "/env/pvcnoded.yaml");
	assert_int_equal(setenv("PVCD_CONFIG_FILE", "", 1), 0);
	assert_string_equal(config_default_path(NULL), "/etc/pvc/pvcnoded.yaml");
	assert_int_equal(unsetenv("PVCD_CONFIG_FILE"), 0);
	assert_string_equal(config_default_path(NULL), "/etc/pvc/pvcnoded.yaml");
	assert_string_equal(config_default_path("/cli/x.yaml"), "/cli/x.yaml");
}

static void test_dump_masks_secrets(void **state)
{
	struct pvc_config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	load_ok("tests/configs/good-networking.yaml", "pvchv2", &c);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_dump(&c, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "pvc.system.intervals.keepalive_interval = 2\n"));
	assert_non_null(strstr(buf, "pvc.system.fencing.ipmi.pass = ********\n"));
	assert_non_null(strstr(buf, "pvc.coordinator.dns.database.pass = ********\n"));
	assert_non_null(strstr(buf, "pvc.system.configuration.networking.cluster.address = 10.10.0.2/16\n"));
	assert_null(strstr(buf, "p@ss: word"));
	assert_null(strstr(buf, "dnssecret"));
	assert_null(strstr(buf, "provsecret"));
	free(buf);
}

static void test_cannot_open(void **state)
{
	struct pvc_config c;
	char err[512];

	(void)state;
	assert_int_equal(config_load("/nonexistent/pvcnoded.yaml", "pvchv1", &c, err, sizeof err),
			 -1);
	assert_string_equal(err, "/nonexistent/pvcnoded.yaml: cannot open: No such file or directory");
	assert_int_equal(config_load("/", "pvchv1", &c, err, sizeof err), -1);
	assert_string_equal(err, "/: cannot open: Is a directory");
}

static void test_bad_hostname(void **state)
{
	char path[PATH_MAX + 64], err[1024];
	struct pvc_config c;

	(void)state;
	src_path(path, sizeof path, "docs/pvcnoded.sample.yaml");
	assert_int_equal(config_load(path, "-bad.example.com", &c, err, sizeof err), -1);
	assert_non_null(strstr(err, ": pvc.node: not set, and the short host name \"-bad\" is not a valid node name"));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	/* a failed load leaves nothing behind */
	assert_string_equal(c.ipmi_pass, "");
}

static void test_small_error_buffer(void **state)
{
	char path[PATH_MAX + 64], err[8];
	struct pvc_config c;

	(void)state;
	src_path(path, sizeof path, "tests/configs/bad/int-is-string.yaml");
	memset(err, 'X', sizeof err);
	assert_int_equal(config_load(path, "pvchv1", &c, err, sizeof err), -1);
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_int_equal(config_load(path, "pvchv1", &c, NULL, 0), -1);
}

/* Issue #16: the daemon (and --check-config) refuse a file others may read or change;
 * config_load() itself (pvcctl, these tests) does not look. */
static void expect_refused(const char *path, unsigned uid, unsigned mode)
{
	char err[1024], want[128];
	struct pvc_config c;

	assert_int_equal(config_load_secure(path, "pvchv1", &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "owned by uid %u with mode %04o", uid, mode);
	if (!strstr(err, want))
		print_error("expected \"%s\" in: %s\n", want, err);
	assert_non_null(strstr(err, want));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_non_null(strstr(err, "must be owned by root and not readable or writable by group or others"));
	assert_string_equal(c.ipmi_pass, "");
}

static void test_secure_owner_and_mode(void **state)
{
	char src[PATH_MAX + 64], tmp[PATH_MAX], err[1024];
	static const unsigned bad_modes[] = {0644, 0640, 0604, 0620, 0602, 0660};
	struct pvc_config c;
	char *text;

	(void)state;
	src_path(src, sizeof src, "docs/pvcnoded.sample.yaml");
	text = read_all(src);
	write_tmp(tmp, sizeof tmp, text); /* mkstemp: 0600, our own uid */
	if (geteuid() != 0) {
		expect_refused(tmp, (unsigned)geteuid(), 0600);
		unlink(tmp);
		free(text);
		skip();
	}
	assert_int_equal(config_load_secure(tmp, "pvchv1", &c, err, sizeof err), 0);
	assert_int_equal(chmod(tmp, 0400), 0);
	assert_int_equal(config_load_secure(tmp, "pvchv1", &c, err, sizeof err), 0);
	for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
		assert_int_equal(chmod(tmp, bad_modes[i]), 0);
		expect_refused(tmp, 0, bad_modes[i]);
		/* the plain loader still reads it */
		assert_int_equal(config_load(tmp, "pvchv1", &c, err, sizeof err), 0);
	}
	assert_int_equal(chmod(tmp, 0600), 0);
	assert_int_equal(chown(tmp, 65534, 65534), 0);
	expect_refused(tmp, 65534, 0600);
	unlink(tmp);
	free(text);
}

/* Issue #15 item 4: a pvc.node that differs from the short host name is warned about. */
static void test_node_name_warning(void **state)
{
	char src[PATH_MAX + 64], tmp[PATH_MAX], err[1024], warn[1024];
	char *text, *mod;
	struct pvc_config c;

	(void)state;
	src_path(src, sizeof src, "docs/pvcnoded.sample.yaml");
	text = read_all(src);
	/* unset: the short host name, no warning */
	load_ok("docs/pvcnoded.sample.yaml", "pvchv1.example.com", &c);
	assert_string_equal(c.host_short_name, "pvchv1");
	assert_int_equal(config_node_name_warning(&c, warn, sizeof warn), 0);
	mod = replace_once(text, "  #node: pvchv1\n", "  node: pvchv3\n");
	write_tmp(tmp, sizeof tmp, mod);
	/* set and equal to the short host name: no warning */
	assert_int_equal(config_load(tmp, "pvchv3.example.com", &c, err, sizeof err), 0);
	assert_int_equal(config_node_name_warning(&c, warn, sizeof warn), 0);
	/* set and different: warned, naming both */
	assert_int_equal(config_load(tmp, "pvchv12.example.com", &c, err, sizeof err), 0);
	assert_int_equal(config_node_name_warning(&c, warn, sizeof warn), 1);
	assert_non_null(strstr(warn, "WARNING: pvc.node \"pvchv3\" differs from this host's "
				     "short name \"pvchv12\""));
	unlink(tmp);
	free(mod);
	free(text);
}

static void test_allow_no_landlock(void **state)
{
	char src[PATH_MAX + 64], tmp[PATH_MAX], err[1024];
	char *text, *mod;
	struct pvc_config c;

	(void)state;
	load_ok("tests/configs/good-minimal.yaml", "hv2", &c);
	assert_int_equal(c.allow_no_landlock, 0); /* default: refuse */
	src_path(src, sizeof src, "docs/pvcnoded.sample.yaml");
	text = read_all(src);
	mod = replace_once(text, "      allow_no_landlock: False\n", "      allow_no_landlock: True\n");
	write_tmp(tmp, sizeof tmp, mod);
	assert_int_equal(config_load(tmp, "pvchv1", &c, err, sizeof err), 0);
	assert_int_equal(c.allow_no_landlock, 1);
	unlink(tmp);
	free(mod);
	free(text);
}

/* pvc.cluster.zookeeper.auth: a config naming `secret` (written to a fresh file with
 * `mode`, owned by `uid`) loads (returns 0) or fails with the error in err. */
static int load_zk_auth(const char *secret, mode_t mode, uid_t uid, char *secret_path,
			size_t spsz, struct pvc_config *c, char *err, size_t errlen)
{
	char src[PATH_MAX + 64], tmp[PATH_MAX], line[PATH_MAX + 128];
	char *text, *mod;
	int rc;

	write_tmp(secret_path, spsz, secret);
	assert_int_equal(chmod(secret_path, mode), 0);
	if (uid != geteuid())
		assert_int_equal(chown(secret_path, uid, (gid_t)-1), 0);
	snprintf(line, sizeof line,
		 "    coordinators: [hv1, hv2, hv3]\n    zookeeper:\n      auth:\n"
		 "        scheme: digest\n        secret_file: %s\n",
		 secret_path);
	src_path(src, sizeof src, "tests/configs/good-minimal.yaml");
	text = read_all(src);
	mod = replace_once(text, "    coordinators: [hv1, hv2, hv3]\n", line);
	write_tmp(tmp, sizeof tmp, mod);
	rc = config_load(tmp, "hv1", c, err, errlen);
	unlink(tmp);
	free(mod);
	free(text);
	return rc;
}

static void test_zk_auth_absent(void **state)
{
	struct pvc_config c;

	(void)state;
	load_ok("tests/configs/good-minimal.yaml", "hv2", &c);
	assert_string_equal(c.zk_auth_scheme, "");
	assert_string_equal(c.zk_auth_secret_file, "");
	assert_string_equal(c.zk_auth_secret, "");
}

static void test_zk_auth_secret_file(void **state)
{
	char sp[PATH_MAX], err[2048] = "";
	struct pvc_config c;

	(void)state;
	if (geteuid() != 0) {
		/* only a root-owned file is accepted: a file of ours is refused by name */
		assert_int_equal(load_zk_auth("pvc:s3cret\n", 0600, geteuid(), sp, sizeof sp, &c,
					      err, sizeof err), -1);
		assert_non_null(strstr(err, sp));
		unlink(sp);
		skip();
	}
	assert_int_equal(load_zk_auth("pvc:s3cr:et\n", 0600, 0, sp, sizeof sp, &c, err,
				      sizeof err), 0);
	assert_string_equal(c.zk_auth_scheme, "digest");
	assert_string_equal(c.zk_auth_secret_file, sp);
	assert_string_equal(c.zk_auth_secret, "pvc:s3cr:et"); /* newline dropped */
	unlink(sp);
	assert_int_equal(load_zk_auth("pvc:x", 0400, 0, sp, sizeof sp, &c, err, sizeof err), 0);
	assert_string_equal(c.zk_auth_secret, "pvc:x");
	unlink(sp);
}

static void zk_auth_refused(const char *secret, mode_t mode, uid_t uid, const char *what)
{
	char sp[PATH_MAX], err[2048] = "";
	struct pvc_config c;

	assert_int_equal(load_zk_auth(secret, mode, uid, sp, sizeof sp, &c, err, sizeof err), -1);
	if (!strstr(err, sp) || !strstr(err, what) ||
	    !strstr(err, "pvc.cluster.zookeeper.auth.secret_file"))
		print_error("mode %04o uid %u: %s\n", (unsigned)mode, (unsigned)uid, err);
	assert_non_null(strstr(err, sp));
	assert_non_null(strstr(err, what));
	assert_non_null(strstr(err, "pvc.cluster.zookeeper.auth.secret_file"));
	assert_null(strstr(err, "s3cret")); /* never the secret itself */
	unlink(sp);
}

static void test_zk_auth_refused(void **state)
{
	static const mode_t bad_modes[] = { 0640, 0604, 0644, 0660, 0610, 0601 };
	char big[400];

	(void)state;
	if (geteuid() != 0)
		skip();
	for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++)
		zk_auth_refused("pvc:s3cret\n", bad_modes[i], 0, "must be owned by root");
	zk_auth_refused("pvc:s3cret\n", 0600, 65534, "owned by uid 65534");
	zk_auth_refused("s3cret\n", 0600, 0, "user:password");
	zk_auth_refused(":s3cret\n", 0600, 0, "user:password");
	zk_auth_refused("pvc:\n", 0600, 0, "user:password");
	zk_auth_refused("pvc:s3cret\nmore\n", 0600, 0, "user:password");
	memset(big, 'a', sizeof big - 1);
	big[3] = ':';
	big[sizeof big - 1] = '\0';
	zk_auth_refused(big, 0600, 0, "longer than");
}

/* pvc.system.api on good-minimal with enable_api on (hv1 is a coordinator): `api` is
 * the section's text. 0 or -1 with err. */
static int load_api(const char *api, const char *host, struct pvc_config *c, char *err,
		    size_t errlen)
{
	char src[PATH_MAX + 64], tmp[PATH_MAX];
	char *text, *mod, *mod2;
	int rc;

	src_path(src, sizeof src, "tests/configs/good-minimal.yaml");
	text = read_all(src);
	mod = replace_once(text, "    enable_api: off\n", "    enable_api: on\n");
	mod2 = replace_once(mod, "  system:\n", api);
	write_tmp(tmp, sizeof tmp, mod2);
	rc = config_load(tmp, host, c, err, errlen);
	unlink(tmp);
	free(mod2);
	free(mod);
	free(text);
	return rc;
}

static void api_refused(const char *api, const char *what, const char *key)
{
	char err[2048] = "";
	struct pvc_config c;

	if (load_api(api, "hv1", &c, err, sizeof err) != -1)
		fail_msg("accepted: %s", api);
	if (!strstr(err, what) || !strstr(err, key) || !strstr(err, ":"))
		print_error("%s", err);
	assert_non_null(strstr(err, what));
	assert_non_null(strstr(err, key));
}

static void test_api_commands(void **state)
{
	char err[2048] = "", line[1024], stub[] = "/tmp/pvct-api-stub.XXXXXX";
	struct pvc_config c;
	int fd;

	(void)state;
	assert_int_equal(load_api("  system:\n", "hv1", &c, err, sizeof err), 0);
	assert_string_equal(c.api_systemctl, "/usr/bin/systemctl");
	assert_int_equal(c.api_systemctl_set, 0);
	api_refused("  system:\n    api:\n      systemctl: bin/systemctl\n", "absolute path",
		    "pvc.system.api.systemctl");
	api_refused("  system:\n    api:\n      patronictl: /nonexistent/patronictl\n",
		    "No such file", "pvc.system.api.patronictl");
	api_refused("  system:\n    api:\n      patronictl: /etc/passwd\n",
		    "not an executable", "pvc.system.api.patronictl");
	api_refused("  system:\n    api:\n      command_timeout_ms: 5\n", "",
		    "pvc.system.api.command_timeout_ms");
	api_refused("  system:\n    api:\n      systemctl_path: /bin/true\n", "",
		    "systemctl_path");
	/* not checked on a hypervisor (hv4 is not a coordinator) */
	if (load_api("  system:\n    api:\n      patronictl: /nonexistent/p\n", "hv4", &c, err,
		     sizeof err) != 0)
		fail_msg("%s", err);
	fd = mkstemp(stub);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(stub, 0755), 0);
	snprintf(line, sizeof line,
		 "  system:\n    api:\n      systemctl: %s\n      patronictl: %s\n"
		 "      command_timeout_ms: 2500\n", stub, stub);
	if (geteuid() == 0) {
		assert_int_equal(load_api(line, "hv1", &c, err, sizeof err), 0);
		assert_string_equal(c.api_systemctl, stub);
		assert_string_equal(c.api_patronictl, stub);
		assert_int_equal(c.api_systemctl_set, 1);
		assert_int_equal(c.api_command_timeout_ms, 2500);
		assert_int_equal(chmod(stub, 0775), 0);
		api_refused(line, "must be owned by root", "pvc.system.api.systemctl");
	} else {
		api_refused(line, "must be owned by root", "pvc.system.api.systemctl");
	}
	unlink(stub);
}

/* The secret reaches zk-election only (config_for_role, supervisor/config/role.c). */
/* The metadata API runs where the reference ran it: coordinators with networking. */
static void test_role_wanted_metadata(void **state)
{
	static struct pvc_config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(config_role_wanted(&c, ROLE_META), 0);
	c.is_coordinator = 1;
	assert_int_equal(config_role_wanted(&c, ROLE_META), 0);
	c.enable_networking = 1;
	assert_int_equal(config_role_wanted(&c, ROLE_META), 1);
	c.is_coordinator = 0;
	assert_int_equal(config_role_wanted(&c, ROLE_META), 0);
	/* and it alone gets the metadata database's password */
	c.is_coordinator = 1;
	strcpy(c.metadata_db.pass, "mdpass");
	strcpy(c.dns_db.pass, "dnspass");
	{
		static struct pvc_config o;
		config_for_role(&c, ROLE_META, &o);
		assert_string_equal(o.metadata_db.pass, "mdpass");
		assert_string_equal(o.dns_db.pass, "");
		config_for_role(&c, ROLE_ZK, &o);
		assert_string_equal(o.metadata_db.pass, "");
	}
}

static void test_zk_auth_for_role(void **state)
{
	char sp[PATH_MAX], err[2048] = "";
	struct pvc_config c, r;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(load_zk_auth("pvc:s3cret\n", 0600, 0, sp, sizeof sp, &c, err,
				      sizeof err), 0);
	unlink(sp);
	for (int role = 0; role < ROLE_COUNT; role++) {
		config_for_role(&c, role, &r);
		if (role == ROLE_ZK)
			assert_string_equal(r.zk_auth_secret, "pvc:s3cret");
		else
			assert_string_equal(r.zk_auth_secret, "");
	}
}

/* One bad config file: must fail with an error that starts with its path and
 * contains the expected substring, on a single line. */
/* pvc.system.supervisor.users/user/allow_shared_user: the sample with `from` replaced
 * by `to`; returns config_load's result, the error in err. */
static int load_users(const char *from, const char *to, int allow_shared, struct pvc_config *c,
		      char *err, size_t errlen)
{
	char src[PATH_MAX + 64], tmp[PATH_MAX];
	char *text, *mod, *mod2;
	int rc;

	src_path(src, sizeof src, "docs/pvcnoded.sample.yaml");
	text = read_all(src);
	mod = replace_once(text, from, to);
	mod2 = replace_once(mod, "      allow_shared_user: False\n",
			    allow_shared ? "      allow_shared_user: True\n"
					 : "      allow_shared_user: False\n");
	write_tmp(tmp, sizeof tmp, mod2);
	rc = config_load(tmp, "pvchv1", c, err, errlen);
	unlink(tmp);
	free(mod2);
	free(mod);
	free(text);
	return rc;
}

/* Refused as long as allow_shared_user is off, with `what` in the error; accepted with
 * it (tests only). */
static void expect_users_refused(const char *from, const char *to, const char *what)
{
	struct pvc_config c;
	char err[1024];

	assert_int_equal(load_users(from, to, 0, &c, err, sizeof err), -1);
	if (!strstr(err, what))
		print_error("expected %s, got: %s\n", what, err);
	assert_non_null(strstr(err, what));
	assert_int_equal(load_users(from, to, 1, &c, err, sizeof err), 0);
	assert_int_equal(c.allow_shared_user, 1);
}

static void test_users_shared_refused(void **state)
{
	struct pvc_config c;
	char err[1024];

	(void)state;
	expect_users_refused("        flush: pvc-flush\n", "        flush: pvc-zk\n",
			     "pvc.system.supervisor.users.flush: \"pvc-zk\" is also the user of "
			     "another role");
	expect_users_refused("        fence: pvc-fence\n", "        fence: nobody\n",
			     "pvc.system.supervisor.users.fence: \"nobody\" is shared by nature");
	expect_users_refused("        zk-election: pvc-zk\n", "        zk-election: root\n",
			     "pvc.system.supervisor.users.zk-election: \"root\"");
	/* user and users together */
	assert_int_equal(load_users("      # user: pvc\n", "      user: pvctest\n", 1, &c, err,
				    sizeof err), -1);
	assert_non_null(strstr(err, "set either users (one user per role) or user"));
	/* an unknown role key */
	assert_int_equal(load_users("        flush: pvc-flush\n", "        flusher: pvc-flush\n",
				    0, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "flusher"));
}

/* user: (compat, tests) sets all five roles; the group is then its primary group. */
static void test_users_compat_user(void **state)
{
	struct pvc_config c, r;
	char err[1024], src[PATH_MAX + 64], tmp[PATH_MAX];
	char *text, *mod;

	(void)state;
	src_path(src, sizeof src, "tests/configs/good-minimal.yaml");
	text = read_all(src);
	mod = replace_once(text, "    intervals:\n",
			   "    supervisor:\n      user: pvctest\n    intervals:\n");
	write_tmp(tmp, sizeof tmp, mod);
	assert_int_equal(config_load(tmp, "hv2", &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "pvc.system.supervisor.user: all worker roles would run "
				    "as \"pvctest\""));
	unlink(tmp);
	free(mod);
	mod = replace_once(text, "    intervals:\n",
			   "    supervisor:\n      user: pvctest\n      allow_shared_user: true\n"
			   "    intervals:\n");
	write_tmp(tmp, sizeof tmp, mod);
	assert_int_equal(config_load(tmp, "hv2", &c, err, sizeof err), 0);
	assert_string_equal(c.worker_user, "pvctest");
	assert_string_equal(c.worker_group, "");
	for (int role = WORKER_FIRST; role <= WORKER_LAST; role++) {
		assert_string_equal(c.role_users[role], "pvctest");
		config_for_role(&c, role, &r);
		assert_string_equal(r.worker_user, "pvctest");
	}
	unlink(tmp);
	free(mod);
	free(text);
}

static void test_bad_file(void **state)
{
	const char *path = *state;
	char err[2048], expect[1024];
	struct pvc_config c;
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	assert_non_null(fgets(expect, sizeof expect, f));
	fclose(f);
	assert_int_equal(strncmp(expect, "# expect: ", 10), 0);
	memmove(expect, expect + 10, strlen(expect + 10) + 1);
	n = strlen(expect);
	while (n && (expect[n - 1] == '\n' || expect[n - 1] == '\r'))
		expect[--n] = '\0';
	assert_true(n > 0);
	assert_true(expect[0] == ':'); /* ":line:col: key.path: ..." */

	assert_int_equal(config_load(path, "pvchv1", &c, err, sizeof err), -1);
	if (!strstr(err, expect) || strncmp(err, path, strlen(path)) != 0)
		print_error("file:     %s\nexpected: %s\ngot:      %s\n", path, expect, err);
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_int_equal(err[strlen(path)], ':');
	assert_non_null(strstr(err, expect));
	assert_null(strchr(err, '\n'));
}

static void test_bad_count(void **state)
{
	int count = *(int *)*state;

	if (count < MIN_BAD_CASES)
		print_error("only %d files in tests/configs/bad\n", count);
	assert_true(count >= MIN_BAD_CASES);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_sample_values),
		cmocka_unit_test(test_sample_documents_added_keys),
		cmocka_unit_test(test_sample_coordinator_id1),
		cmocka_unit_test(test_hostname_without_digits),
		cmocka_unit_test(test_pvc_node_overrides),
		cmocka_unit_test(test_good_minimal),
		cmocka_unit_test(test_good_networking),
		cmocka_unit_test(test_for_role),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_dump_masks_secrets),
		cmocka_unit_test(test_cannot_open),
		cmocka_unit_test(test_bad_hostname),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_secure_owner_and_mode),
		cmocka_unit_test(test_node_name_warning),
		cmocka_unit_test(test_allow_no_landlock),
		cmocka_unit_test(test_users_shared_refused),
		cmocka_unit_test(test_users_compat_user),
		cmocka_unit_test(test_zk_auth_absent),
		cmocka_unit_test(test_zk_auth_secret_file),
		cmocka_unit_test(test_zk_auth_refused),
		cmocka_unit_test(test_zk_auth_for_role),
		cmocka_unit_test(test_api_commands),
		cmocka_unit_test(test_role_wanted_metadata),
		cmocka_unit_test(test_dns_role_wanted),
	};
	size_t nfixed = sizeof fixed / sizeof fixed[0], nbad = 0, cap = 0, i;
	char dirpath[PATH_MAX + 64], **files = NULL;
	struct CMUnitTest *tests;
	struct dirent *de;
	DIR *d;
	int count, rc;

	find_srcdir();
	src_path(dirpath, sizeof dirpath, "tests/configs/bad");
	d = opendir(dirpath);
	if (d) {
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			char *p;

			if (l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0)
				continue;
			if (nbad == cap) {
				char **nf;

				cap = cap ? cap * 2 : 64;
				nf = realloc(files, cap * sizeof *files);
				if (!nf)
					return 1;
				files = nf;
			}
			if (asprintf(&p, "%s/%s", dirpath, de->d_name) < 0)
				return 1;
			files[nbad++] = p;
		}
		closedir(d);
	}
	if (nbad)
		qsort(files, nbad, sizeof *files, cmp_str);
	count = (int)nbad;

	tests = calloc(nfixed + 1 + nbad, sizeof *tests);
	if (!tests)
		return 1;
	memcpy(tests, fixed, sizeof fixed);
	tests[nfixed].name = "bad_config_count";
	tests[nfixed].test_func = test_bad_count;
	tests[nfixed].initial_state = &count;
	for (i = 0; i < nbad; i++) {
		const char *base = strrchr(files[i], '/');

		tests[nfixed + 1 + i].name = base ? base + 1 : files[i];
		tests[nfixed + 1 + i].test_func = test_bad_file;
		tests[nfixed + 1 + i].initial_state = files[i];
	}
	rc = _cmocka_run_group_tests("config", tests, nfixed + 1 + nbad, NULL, NULL);
	for (i = 0; i < nbad; i++)
		free(files[i]);
	free(files);
	free(tests);
	return rc;
}
