/*
 * keepalive.c: base containers, node registration (ref §2.7, with new
 * coordinators registered as `secondary`), the keepalive transaction (ref §4.2)
 * and our own daemon state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "zk_acl.h"
#include "zk_internal.h"

#define REG_RETRY_MS 1000

/* Cluster-wide keys (ref §1.1) created if missing; parents precede children. */
static const char *const base_keys[][2] = {
	{"/nodes", ""},         {"/domains", ""},        {"/networks", ""},
	{"/locks", ""},         {"/locks/primary_node", ""}, {"/locks/flush_lock", ""},
	{"/cmd", ""},           {"/cmd/domains", ""},    {"/cmd/ceph", ""},
	{"/ceph", ""},          {"/ceph/osds", ""},      {"/ceph/pools", ""},
	{"/ceph/volumes", ""},  {"/ceph/snapshots", ""}, {"/primary_node", "none"},
	{"/upstream_ip", "none"}, {"/maintenance", "False"},
};
#define NBASE (sizeof(base_keys) / sizeof(base_keys[0]))

static void registration_start(struct zk_ctx *z);
static void ds_read(struct zk_ctx *z);

static const char *mode(const struct zk_ctx *z)
{
	return z->cfg->is_coordinator ? "coordinator" : "hypervisor";
}

static void node_path(const struct zk_ctx *z, const char *key, char *buf, size_t size)
{
	if (key)
		snprintf(buf, size, "/nodes/%s/%s", z->cfg->node_name, key);
	else
		snprintf(buf, size, "/nodes/%s", z->cfg->node_name);
}

/* uname and CPU count: gathered before confinement. */
void zk_keepalive_static(struct zk_ctx *z)
{
	struct utsname u;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (uname(&u) != 0) {
		log_warn("uname");
		memset(&u, 0, sizeof(u));
	}
	if (cpus < 1)
		cpus = 1;
	/* ref §1.2: "<cpus> <kernel-release> <os> <machine>"; uname -o is GNU/Linux */
	snprintf(z->staticdata, sizeof(z->staticdata), "%ld %s GNU/Linux %s", cpus, u.release,
		 u.machine);
	strlcpy_pvc(z->vm_memalloc, "0", sizeof(z->vm_memalloc));
	strlcpy_pvc(z->vm_vcpualloc, "0", sizeof(z->vm_vcpualloc));
	strlcpy_pvc(z->vm_domainscount, "0", sizeof(z->vm_domainscount));
}

/* ---- base containers ------------------------------------------------------------ */

static void base_done(int rc, const char *value, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;

	if (z->closing)
		return;
	if (rc != ZOK && rc != ZNODEEXISTS)
		log_warnx("cannot create base key: %s", zk_session_err(rc));
	if (--z->base_pending > 0)
		return;
	z->base_done = 1;
	if (!z->registered && !z->resumed)
		registration_start(z);
	else
		ds_read(z);
}

static void base_create(struct zk_ctx *z)
{
	z->base_pending = 0;
	for (size_t i = 0; i < NBASE; i++) {
		const char *v = base_keys[i][1];
		if (zoo_acreate(z->zh, base_keys[i][0], v, (int)strlen(v), zk_acl_create(z), 0,
				base_done, z) == ZOK)
			z->base_pending++;
	}
	if (z->base_pending == 0)
		log_warnx("cannot send the base key creations");
}

/* ---- registration ------------------------------------------------------------- */

static void reg_retry(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;

	if (zk_session_usable(z) && !z->registered && !z->reg_inflight)
		registration_start(z);
}

static void reg_done(struct zk_ctx *z, int rc, struct zk_multi *m)
{
	z->reg_inflight = 0;
	if (z->closing)
		return;
	if (rc != ZOK) {
		log_warnx("node registration failed: %s; retrying", zk_session_err(rc));
		if (ev_timer(z->loop, REG_RETRY_MS, reg_retry, z) == 0)
			log_errx("out of timers");
		return;
	}
	z->registered = 1;
	strlcpy_pvc(z->daemonstate, "init", sizeof(z->daemonstate));
	z->ds_known = 1;
	strlcpy_pvc(z->routerstate, z->cfg->is_coordinator ? "secondary" : "client",
		    sizeof(z->routerstate));
	z->routerstate_known = 1;
	log_ok("registered node %s as %s", z->cfg->node_name, mode(z));
	ds_read(z);
	/* the first keepalive completes the start-up (daemonstate run) */
	zk_keepalive_run(z);
	z->hooks->evaluate(z);
}

static int has_child(const struct String_vector *sv, const char *name)
{
	for (int i = 0; sv && i < sv->count; i++)
		if (sv->data[i] && strcmp(sv->data[i], name) == 0)
			return 1;
	return 0;
}

static void reg_children_done(int rc, const struct String_vector *sv, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	const struct pvc_config *c = z->cfg;
	char now[32], path[ZK_NAME * 3];
	const char *rs = c->is_coordinator ? "secondary" : "client";
	/* keys written at every start (ref §2.7) */
	const char *const reg[][2] = {
		{"daemonmode", mode(z)},      {"daemonstate", "init"},
		{"routerstate", rs},          {"staticdata", z->staticdata},
		{"ipmihostname", c->ipmi_host}, {"ipmiusername", c->ipmi_user},
		{"ipmipassword", c->ipmi_pass},
	};
	/* keys only created when missing (ref §1.2 initial values) */
	const char *const init[][2] = {
		{"domainstate", "flushed"}, {"memtotal", "0"},     {"memused", "0"},
		{"memfree", "0"},           {"memalloc", "0"},     {"vcpualloc", "0"},
		{"cpuload", "0.0"},         {"networkscount", "0"}, {"domainscount", "0"},
		{"runningdomains", ""},     {"keepalive", now},
	};
	struct zk_multi *m;
	int fresh = rc == ZNONODE;

	if (z->closing) {
		z->reg_inflight = 0;
		return;
	}
	if (rc != ZOK && rc != ZNONODE) {
		reg_done(z, rc, NULL);
		return;
	}
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	m = zk_multi_new(z);
	if (m == NULL) {
		reg_done(z, ZSYSTEMERROR, NULL);
		return;
	}
	if (fresh) {
		node_path(z, NULL, path, sizeof(path));
		(void)zk_multi_create(m, path, mode(z), 0);
	}
	for (size_t i = 0; i < sizeof(reg) / sizeof(reg[0]); i++) {
		node_path(z, reg[i][0], path, sizeof(path));
		if (!fresh && has_child(sv, reg[i][0]))
			(void)zk_multi_set(m, path, reg[i][1], -1);
		else
			(void)zk_multi_create(m, path, reg[i][1], 0);
	}
	for (size_t i = 0; i < sizeof(init) / sizeof(init[0]); i++) {
		node_path(z, init[i][0], path, sizeof(path));
		if (fresh || !has_child(sv, init[i][0]))
			(void)zk_multi_create(m, path, init[i][1], 0);
	}
	m->done = reg_done;
	zk_multi_commit(m);
}

static void registration_start(struct zk_ctx *z)
{
	char path[ZK_NAME * 3];

	if (!zk_session_usable(z) || z->reg_inflight)
		return;
	node_path(z, NULL, path, sizeof(path));
	if (zoo_aget_children(z->zh, path, 0, reg_children_done, z) == ZOK)
		z->reg_inflight = 1;
}

/* ---- own daemon state ------------------------------------------------------------ */

static void ds_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	char v[16] = "";

	if (z->closing || (rc != ZOK && rc != ZNONODE))
		return;
	if (rc == ZOK && value && len > 0 && len < (int)sizeof(v)) {
		memcpy(v, value, (size_t)len);
		v[len] = '\0';
	}
	if (rc == ZNONODE) {
		/* our node vanished (deleted by an operator?): register again */
		z->registered = 0;
		z->resumed = 0;
		registration_start(z);
		return;
	}
	if (!zk_values_daemonstate(v)) {
		char ex[64], path[ZK_NAME * 3];

		/* Not a state: keep the last valid one, so that the election does not
		 * react to garbage (a primary would relinquish and take over again). */
		node_path(z, "daemonstate", path, sizeof(path));
		log_warnx("%s: invalid value \"%s\" ignored (keeping \"%s\"); the keepalive rewrites it",
			  path, zk_values_excerpt(value, rc == ZOK ? len : 0, ex, sizeof(ex)), z->daemonstate);
		if (z->phase == 0 && z->registered)
			zk_keepalive_run(z);
		return;
	}
	if (strcmp(v, z->daemonstate) != 0 && z->ds_known && v[0])
		log_info("daemon state is now %s", v);
	strlcpy_pvc(z->daemonstate, v, sizeof(z->daemonstate));
	z->ds_known = 1;
	if (z->resumed && !z->registered) {
		/* a resumed session was registered by our predecessor */
		z->registered = 1;
	}
	if (strcmp(v, "run") != 0 && z->phase == 0 && z->registered)
		zk_keepalive_run(z); /* repair at once (saving throw against `dead`) */
	z->hooks->evaluate(z);
}

static void ds_read(struct zk_ctx *z)
{
	char path[ZK_NAME * 3];

	if (!zk_session_usable(z))
		return;
	node_path(z, "daemonstate", path, sizeof(path));
	if (zoo_awget(z->zh, path, zk_session_path_watcher, z, ds_done, z) != ZOK)
		log_warnx("cannot read own daemon state");
}

/* election.c's watch dispatcher hands us our daemonstate firings */
void zk_keepalive_ds_event(struct zk_ctx *z)
{
	ds_read(z);
}

struct ds_write {
	char value[16];
	void (*done)(struct zk_ctx *z, int rc);
};

static void ds_write_done(struct zk_ctx *z, int rc, struct zk_multi *m)
{
	struct ds_write *d = m->arg;

	if (rc == ZOK) {
		strlcpy_pvc(z->daemonstate, d->value, sizeof(z->daemonstate));
		log_info("daemon state is now %s", d->value);
	} else {
		log_warnx("cannot write daemon state %s: %s", d->value, zk_session_err(rc));
	}
	if (d->done)
		d->done(z, rc);
	free(d);
}

void zk_keepalive_set_daemonstate(struct zk_ctx *z, const char *state,
				  void (*done)(struct zk_ctx *z, int rc))
{
	struct zk_multi *m = zk_multi_new(z);
	struct ds_write *d = calloc(1, sizeof(*d));
	char path[ZK_NAME * 3];

	if (m == NULL || d == NULL) {
		free(m);
		free(d);
		if (done)
			done(z, ZSYSTEMERROR);
		return;
	}
	strlcpy_pvc(d->value, state, sizeof(d->value));
	d->done = done;
	node_path(z, "daemonstate", path, sizeof(path));
	(void)zk_multi_set(m, path, state, -1);
	m->done = ds_write_done;
	m->arg = d;
	zk_multi_commit(m);
}

/* ---- the keepalive ------------------------------------------------------------------- */

struct ka {
	int set_run;
	int set_upstream;
	int final;
	uint64_t sent_ms; /* self-fencing clock (docs/fencing.md) */
	void (*done)(struct zk_ctx *z, int rc);
};

static void ka_retry(struct ev_loop *loop, void *arg);

static void ka_done(struct zk_ctx *z, int rc, struct zk_multi *m)
{
	struct ka *k = m->arg;

	z->ka_inflight = 0;
	if (z->ka_again && !k->final && !z->closing) {
		/* the running list changed meanwhile: publish it now, not a tick later */
		z->ka_again = 0;
		if (ev_timer(z->loop, 0, ka_retry, z) == 0)
			log_errx("out of timers");
	}
	if (rc == ZOK) {
		z->ka_last_ok = mono_ms();
		if (!k->final)
			z->hooks->keepalive_committed(z, k->sent_ms);
		z->ka_retry_armed = 0;
		if (k->set_run && strcmp(z->daemonstate, "run") != 0) {
			strlcpy_pvc(z->daemonstate, "run", sizeof(z->daemonstate));
			log_info("daemon state is now run");
		}
		if (k->final)
			strlcpy_pvc(z->daemonstate, "stop", sizeof(z->daemonstate));
		if (k->set_upstream)
			strlcpy_pvc(z->upstream_ip, z->cfg->upstream.floating_ip.text,
				    sizeof(z->upstream_ip));
		if (z->cfg->log_keepalives && !k->final) {
			logmsg('t', "%s keepalive [%s]", z->cfg->node_name, z->routerstate);
			if (z->cfg->log_keepalive_cluster_details)
				logmsg('t', "Maintenance: %s  Active VMs: %s  Nodes: %d  Memory [MiB]: VMs: %s",
				       z->maintenance ? "true" : "false", z->vm_domainscount, z->nnodes,
				       z->vm_memalloc);
		}
	} else if (!z->closing) {
		log_warnx("keepalive failed: %s", zk_session_err(rc));
		if (rc == ZNONODE) {
			z->registered = 0;
			z->resumed = 0;
			registration_start(z);
		} else if (!k->final && !z->ka_retry_armed) {
			z->ka_retry_armed = 1;
			if (ev_timer(z->loop, 100, ka_retry, z) == 0)
				log_errx("out of timers");
		}
	}
	if (k->done)
		k->done(z, rc);
	free(k);
	if (!z->closing)
		z->hooks->evaluate(z);
}

static void ka_send(struct zk_ctx *z, int final, void (*done)(struct zk_ctx *z, int rc))
{
	char path[ZK_NAME * 3], mt[24], mu[24], mf[24], load[40], now[24];
	char raw[4096];
	struct zk_values_mem mem = {0, 0, 0};
	double la = 0.0;
	struct zk_multi *m;
	struct ka *k;
	const char *running;

	if (read_small_file("/proc/meminfo", raw, sizeof(raw)) < 0 || zk_values_meminfo(raw, &mem) != 0)
		log_warnx("cannot read /proc/meminfo");
	if (read_small_file("/proc/loadavg", raw, sizeof(raw)) < 0 || zk_values_loadavg(raw, &la) != 0)
		log_warnx("cannot read /proc/loadavg");
	snprintf(mt, sizeof(mt), "%llu", (unsigned long long)mem.total_mib);
	snprintf(mu, sizeof(mu), "%llu", (unsigned long long)mem.used_mib);
	snprintf(mf, sizeof(mf), "%llu", (unsigned long long)mem.free_mib);
	if (zk_values_pyfloat(la, load, sizeof(load)) != 0)
		strlcpy_pvc(load, "0.0", sizeof(load));
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	running = (z->cfg->enable_hypervisor && z->vm_running) ? z->vm_running : "";

	m = zk_multi_new(z);
	k = calloc(1, sizeof(*k));
	if (m == NULL || k == NULL) {
		free(m);
		free(k);
		if (done)
			done(z, ZSYSTEMERROR);
		return;
	}
	k->final = final;
	k->sent_ms = mono_ms();
	k->done = done;
	{
		const char *const kv[][2] = {
			{"memtotal", mt},
			{"memused", mu},
			{"memfree", mf},
			{"memalloc", z->cfg->enable_hypervisor ? z->vm_memalloc : "0"},
			{"vcpualloc", z->cfg->enable_hypervisor ? z->vm_vcpualloc : "0"},
			{"cpuload", load},
			{"domainscount", z->cfg->enable_hypervisor ? z->vm_domainscount : "0"},
			{"runningdomains", running},
			{"keepalive", now},
		};
		for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
			node_path(z, kv[i][0], path, sizeof(path));
			(void)zk_multi_set(m, path, kv[i][1], -1);
		}
	}
	node_path(z, "daemonstate", path, sizeof(path));
	if (final) {
		(void)zk_multi_set(m, path, "stop", -1);
	} else if (z->phase == 0 && strcmp(z->daemonstate, "run") != 0 &&
		   strcmp(z->daemonstate, "shutdown") != 0 && strcmp(z->daemonstate, "stop") != 0) {
		(void)zk_multi_set(m, path, "run", -1);
		k->set_run = 1;
	}
	/* ref §4.2 step 1: the primary publishes the upstream floating address */
	if (!final && z->cfg->enable_networking && z->net_want == 1 && z->net_have == 1 &&
	    z->cfg->upstream.floating_ip.set &&
	    strcmp(z->upstream_ip, z->cfg->upstream.floating_ip.text) != 0) {
		(void)zk_multi_set(m, "/upstream_ip", z->cfg->upstream.floating_ip.text, -1);
		k->set_upstream = 1;
	}
	m->done = ka_done;
	m->arg = k;
	z->ka_inflight = 1;
	zk_multi_commit(m);
}

void zk_keepalive_run(struct zk_ctx *z)
{
	if (!zk_session_usable(z) || !z->registered || z->ka_inflight || z->phase == 2)
		return;
	ka_send(z, 0, NULL);
}

static void ka_retry(struct ev_loop *loop, void *arg)
{
	zk_keepalive_run(arg);
}

static void ka_timer(struct ev_loop *loop, void *arg)
{
	struct zk_ctx *z = arg;
	int iv = z->cfg->keepalive_interval > 0 ? z->cfg->keepalive_interval : 5;

	z->ka_timer = ev_timer(loop, (uint64_t)iv * 1000u, ka_timer, z);
	z->ka_retry_armed = 0;
	zk_keepalive_run(z);
	z->hooks->tick(z);
	z->status_last[0] = '\0'; /* refresh lease_ms once per tick */
	z->hooks->status(z);
}

/* Phase 2: the last keepalive, carrying daemonstate `stop`. */
void zk_keepalive_final(struct zk_ctx *z, void (*done)(struct zk_ctx *z, int rc))
{
	if (z->ka_timer) {
		ev_timer_cancel(z->loop, z->ka_timer);
		z->ka_timer = 0;
	}
	if (!zk_session_usable(z) || !z->registered) {
		done(z, ZCONNECTIONLOSS);
		return;
	}
	ka_send(z, 1, done);
}

void zk_keepalive_connected(struct zk_ctx *z, int new_session)
{
	int iv = z->cfg->keepalive_interval > 0 ? z->cfg->keepalive_interval : 5;

	z->base_done = 0;
	z->ka_inflight = 0;
	z->reg_inflight = 0;
	if (new_session) {
		z->registered = 0;
		z->ds_known = 0;
	}
	base_create(z);
	if (z->ka_timer == 0 && z->phase < 2)
		z->ka_timer = ev_timer(z->loop, (uint64_t)iv * 1000u, ka_timer, z);
}

static int copy_int(char *dst, size_t size, const char *s)
{
	long long v;

	if (zk_values_int(s, 0, (1LL << 53), &v) != 0)
		return -1;
	snprintf(dst, size, "%lld", v);
	return 0;
}

void zk_keepalive_vm_stats(struct zk_ctx *z, const struct ipc_strv *sv)
{
	char a[24], b[24], c[24], *r;

	if (sv->n != 4 || copy_int(a, sizeof(a), sv->v[0]) != 0 ||
	    copy_int(b, sizeof(b), sv->v[1]) != 0 || copy_int(c, sizeof(c), sv->v[2]) != 0 ||
	    !zk_values_uuid_list(sv->v[3])) {
		log_warnx("malformed VM statistics from vm-manager ignored");
		return;
	}
	r = strdup(sv->v[3]);
	if (r == NULL) {
		log_errx("out of memory");
		return;
	}
	strlcpy_pvc(z->vm_memalloc, a, sizeof(z->vm_memalloc));
	strlcpy_pvc(z->vm_vcpualloc, b, sizeof(z->vm_vcpualloc));
	strlcpy_pvc(z->vm_domainscount, c, sizeof(z->vm_domainscount));
	{
		int changed = z->vm_running == NULL || strcmp(z->vm_running, r) != 0;
		free(z->vm_running);
		z->vm_running = r;
		/* ref §4.3: runningdomains is written on every start/stop/migration, not
		 * only at the next keepalive (flush and the API wait for it) */
		if (changed && z->cfg->enable_hypervisor) {
			if (z->ka_inflight)
				z->ka_again = 1;
			else
				zk_keepalive_run(z);
		}
	}
}
