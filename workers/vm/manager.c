/*
 * manager.c: the vm-manager worker. Desired VM state comes from zk-election
 * (MSG_VM_DOMAIN...), observations from libvirt (libvirt.c, reconcile.c), decisions
 * and actions live in decide.c, domain.c and result.c. This file holds the process:
 * start-up and confinement, the zk-election dispatch, ZooKeeper requests with
 * retries, and the callbacks (struct vm_ops) through which the files below reach it.
 *
 * Nothing here polls on an idle node: the listing that refreshes the figures and
 * catches missed events runs when zk-election reports a committed keepalive (which
 * is when it next needs the figures), request timers (ipc/zkreq.c) exist only while
 * requests are outstanding, the console tick only while a VM runs here.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "log.h"
#include "sandbox.h"
#include "vm_domain.h"
#include "vm_selffence.h"
#include "zkreq.h"

#define POOL_THREADS 6
#define ZK_RETRY_MIN_MS 250
#define ZK_RETRY_MAX_MS 5000
#define ZK_REPLY_TIMEOUT_MS 15000

/* ---- ZooKeeper requests ------------------------------------------------------------ */

/* The record a request serves: found again by UUID when the reply comes (it may
 * have been freed meanwhile); kind and cookie travel in the request's tag and cookie. */
struct zk_ctx {
	struct vmm *m;
	char uuid[VLV_UUID_LEN];
};

static struct ipc_zkreq_client zk;

static int zk_tx(void *arg, uint32_t type, const char *const *v, uint32_t n)
{
	struct vmm *m = arg;

	return worker_send_strv(m->w, type, ROLE_ZK, v, n);
}

static void zk_init(struct vmm *m)
{
	static const struct ipc_zkreq_policy pol = {
		/* no reply (zk-election restarted meanwhile): send again under the same
		 * id, so that a late first reply and the second are one */
		.reply_timeout_ms = ZK_REPLY_TIMEOUT_MS,
		.fresh_id = 0,
		/* ZooKeeper not connected: the request still matters, retry with backoff */
		.retry_min_ms = ZK_RETRY_MIN_MS,
		.retry_max_ms = ZK_RETRY_MAX_MS,
		/* a malformed reply is ignored and the request asked again later */
		.garbage_retries = UINT_MAX,
	};

	ipc_zkreq_init(&zk, m->w->loop, "vm", &pol, zk_tx, m);
}

static void zk_reply(void *arg, struct ipc_zkreq *z, int rc, struct ipc_strv *sv)
{
	struct zk_ctx *x = arg;
	struct vmm *m = x->m;
	struct vm_rec *r;

	if (rc == IPC_RC_CANCELLED) {
		free(x);
		return;
	}
	if (rc == IPC_RC_POLICY)
		log_errx("zk-election refused request %s (%s %s)", z->id,
			 z->n > 1 ? z->v[0] : "", z->n > 1 ? z->v[1] : "");
	r = vm_record_find(m, x->uuid);
	if (r && z->tag == ZK_K_CONSOLE)
		vm_console_reply(m, r, rc);
	else if (r && z->cookie == r->cookie && z->tag != ZK_K_PLAIN)
		vm_result_zk(m, r, z->tag, rc, sv->n >= 3 ? sv->v[2] : NULL);
	free(x);
}

static int zk_send(struct vmm *m, struct vm_rec *r, int kind, uint32_t type,
		   const char *const *args, uint32_t n)
{
	struct zk_ctx *x = calloc(1, sizeof(*x));
	struct ipc_zkreq *z;

	if (x == NULL)
		return -1;
	x->m = m;
	strlcpy_pvc(x->uuid, r->uuid, sizeof(x->uuid));
	z = ipc_zkreq_issue(&zk, type, args, n, zk_reply, x);
	if (z == NULL) {
		free(x);
		return -1;
	}
	/* no callback runs from inside ipc_zkreq_issue() */
	z->tag = kind;
	z->cookie = r->cookie;
	return 0;
}

/* ---- the callbacks of the files below ------------------------------------------------ */

static int submit(struct vmm *m, struct vlv_job *j)
{
	return vm_libvirt_submit(m->lv, j);
}

static void stats_cb(struct ev_loop *loop, void *arg)
{
	struct vmm *m = arg;

	m->stats_pending = 0;
	vm_stats_send(m);
}

static void stats_changed(struct vmm *m)
{
	/* coalesce every change made while handling one batch of input */
	if (!m->stats_pending && ev_timer(m->w->loop, 0, stats_cb, m) != 0)
		m->stats_pending = 1;
}

static const struct vm_ops ops = {
	.submit = submit,
	.zk_send = zk_send,
	.stats_changed = stats_changed,
};

/* ---- zk-election -------------------------------------------------------------------- */

static void handle_domain(struct vmm *m, struct ipc_strv *sv)
{
	struct vm_rec *r;
	long long version;
	const char *uuid, *name, *state, *node, *lastnode;

	if (sv->n != 6) {
		log_warnx("VM_DOMAIN with %u fields ignored", sv->n);
		return;
	}
	uuid = sv->v[0], name = sv->v[1], state = sv->v[2], node = sv->v[3], lastnode = sv->v[4];
	if (!valid_uuid(uuid)) {
		log_warnx("VM_DOMAIN with an invalid UUID ignored");
		return;
	}
	if (!vm_decide_state_valid(state)) {
		log_warnx("vm %s: unknown state '%.32s' ignored", uuid, state);
		return;
	}
	if (!valid_node_name(node) || (lastnode[0] && !valid_node_name(lastnode))) {
		log_warnx("vm %s: invalid node '%.64s' or lastnode ignored", uuid, node);
		return;
	}
	if (parse_ll(sv->v[5], 0, 0x7fffffff, &version) != 0) {
		log_warnx("vm %s: invalid version ignored", uuid);
		return;
	}
	r = vm_record_get(m, uuid);
	if (r == NULL) {
		log_errx("out of memory");
		return;
	}
	r->seen_gen = m->sync_gen;
	if (r->known && version < r->version) {
		log_debug("vm %s: stale state %s (version %lld < %lld) ignored", uuid, state, version,
			  r->version);
		return;
	}
	/* Moved here from a node where it ran, with at least one state write in
	 * between that we never saw, now shutdown/stop: a migration whose cold fallback
	 * was coalesced away (see domain.c, infer_cold_receive). */
	if (r->known && strcmp(r->node, m->cfg->node_name) != 0 &&
	    strcmp(node, m->cfg->node_name) == 0 && version >= r->version + 2 &&
	    (strcmp(r->state, "start") == 0 || strcmp(r->state, "migrate") == 0 ||
	     strcmp(r->state, "shutdown") == 0) &&
	    (strcmp(state, "stop") == 0 || strcmp(state, "shutdown") == 0))
		r->infer_cold = 1;
	if (!r->known)
		stats_changed(m);
	r->known = 1;
	r->gone = 0;
	strlcpy_pvc(r->name, name[0] && strlen(name) < sizeof(r->name) ? name : uuid, sizeof(r->name));
	strlcpy_pvc(r->state, state, sizeof(r->state));
	strlcpy_pvc(r->node, node, sizeof(r->node));
	strlcpy_pvc(r->lastnode, lastnode, sizeof(r->lastnode));
	r->version = version;
	if (version > r->stale_version)
		r->stale_version = -1;
	log_debug("vm %s: state=%s node=%s version=%lld", r->name, state, node, version);
	vm_domain_state_changed(m, r);
}

static void forget_domain(struct vmm *m, struct vm_rec *r)
{
	if (!r->known)
		return;
	log_info("vm %s: removed from PVC", r->name);
	r->known = 0;
	r->stale_version = -1;
	stats_changed(m);
	if (r->act != VA_NONE)
		r->gone = 1;
	else if (r->lv == LV_ABSENT)
		vm_record_free(m, r);
}

static void handle_sync_done(struct vmm *m)
{
	/* VMs not re-sent in this sync were deleted while we were not listening */
	for (size_t i = 0; i < m->nrecs; ) {
		struct vm_rec *r = m->recs[i];
		size_t before = m->nrecs;
		if (r->known && r->seen_gen != m->sync_gen)
			forget_domain(m, r);
		if (m->nrecs == before)
			i++;
	}
	m->sync_gen++;
	if (!vm_selffence_sync_done(m))
		return; /* self-fenced: no VM is acted upon before a fresh list (docs/fencing.md) */
	if (!m->synced) {
		size_t known = 0;
		for (size_t i = 0; i < m->nrecs; i++)
			known += m->recs[i]->known != 0;
		log_info("VM list from ZooKeeper complete (%zu VMs)", known);
	}
	m->synced = 1;
	stats_changed(m);
	vm_reconcile_evaluate_all(m);
}

/* zk-election committed a keepalive, and writes our figures with its next one. A
 * listing refreshes them (memory, vCPUs), catches missed events and reconciles;
 * its result sends the figures (or they go out as known while it cannot run). */
static void handle_keepalive(struct vmm *m, const struct ipc_msg *msg)
{
	vm_selffence_keepalive(m, msg);
	if (m->list_inflight || m->reconnecting)
		vm_stats_send(m);
	vm_reconcile_list(m);
}

static void handle_strv(struct vmm *m, const struct ipc_msg *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
		log_warnx("bad %s payload: %s", ipc_type_name(msg->hdr.type), err ? err : "?");
		return;
	}
	if (msg->hdr.type == MSG_VM_DOMAIN) {
		handle_domain(m, &sv);
	} else if (msg->hdr.type == MSG_ZK_REPLY) {
		(void)ipc_zkreq_reply(&zk, &sv);
	} else if (sv.n == 1 && valid_uuid(sv.v[0])) {
		struct vm_rec *r = vm_record_find(m, sv.v[0]);
		if (r)
			forget_domain(m, r);
	} else {
		log_warnx("malformed VM_DOMAIN_GONE ignored");
	}
	ipc_strv_free(&sv);
}

static void dispatch_zk(struct worker *w, struct ipc_msg *msg)
{
	struct vmm *m = w->ctx;

	if (msg->hdr.sender == ROLE_SUPERVISOR && msg->hdr.type == MSG_VM_CONSOLE_FD) {
		if (m->lv != NULL)
			vm_console_fd(m, msg);
		return;
	}
	if (msg->hdr.sender != ROLE_ZK) {
		log_warnx("%s from %s ignored", ipc_type_name(msg->hdr.type), role_name(msg->hdr.sender));
		return;
	}
	if (m->lv == NULL)
		return; /* hypervisor function disabled */
	switch (msg->hdr.type) {
	case MSG_VM_KEEPALIVE:
		handle_keepalive(m, msg);
		break;
	case MSG_VM_SYNC_DONE:
		handle_sync_done(m);
		break;
	case MSG_VM_DOMAIN:
	case MSG_VM_DOMAIN_GONE:
	case MSG_ZK_REPLY:
		handle_strv(m, msg);
		break;
	default:
		log_warnx("unexpected %s from zk-election", ipc_type_name(msg->hdr.type));
		return;
	}
	vm_console_update(m);
}

/* libvirt results and events (from libvirt.c's pipe). */
static void lv_done(struct vlv_job *j, void *arg)
{
	struct vmm *m = arg;

	vm_reconcile_done(j, m);
	vm_console_update(m);
}

/* ---- process ------------------------------------------------------------------------- */

static void vm_shutdown(struct worker *w, uint32_t phase)
{
	/* VMs outlive the daemon (as in the reference): moving them off is flush's job */
	worker_shutdown_done(w, phase);
}

/* what the libvirt client library and its GLib event loop use beyond the common
 * set (measured with strace on test:// and test+unix:// URIs) */
static const struct sandbox_sys libvirt_syscalls[] = {
	SANDBOX_SYS(connect), SANDBOX_SYS(getsockopt), SANDBOX_SYS(setsockopt),
	SANDBOX_SYS(getsockname), SANDBOX_SYS(getpeername), SANDBOX_SYS(shutdown),
	SANDBOX_SYS(pipe2), SANDBOX_SYS(eventfd2), SANDBOX_SYS(dup), SANDBOX_SYS(dup3),
	SANDBOX_SYS(access), SANDBOX_SYS(faccessat), SANDBOX_SYS(faccessat2),
	SANDBOX_SYS(readlink), SANDBOX_SYS(readlinkat), SANDBOX_SYS(getdents64),
	SANDBOX_SYS(getcwd), SANDBOX_SYS(pread64),
	SANDBOX_SYS_END,
};

static int seccomp_rules(void *scmp_ctx)
{
	/* the local libvirt socket only: no network */
	const struct scmp_arg_cmp unix_only[] = {SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)};

	if (sandbox_rules_threads(scmp_ctx) != 0 || sandbox_rules_files_ro(scmp_ctx) != 0 ||
	    sandbox_allow_list(scmp_ctx, libvirt_syscalls) != 0)
		return -1;
	return sandbox_add_rule(scmp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), "socket", 1, unix_only);
}

/* test:///path/node.xml?... -> /path/node.xml (the test driver reads it on reconnect) */
static void test_driver_file(const char *uri, char *out, size_t len)
{
	const char *p = NULL;

	out[0] = '\0';
	if (strncmp(uri, "test:///", 8) == 0)
		p = uri + 7;
	else if (strncmp(uri, "test+unix:///", 13) == 0)
		p = uri + 12;
	if (p == NULL || strncmp(p, "/default", 8) == 0)
		return;
	strlcpy_pvc(out, p, len);
	out[strcspn(out, "?")] = '\0';
}

int vm_manager_main(void)
{
	static struct worker w;
	static struct vmm m;
	char err[512], tfile[CFG_PATH_MAX];
	const char *ro[4] = {NULL, NULL, NULL, NULL};
	struct sandbox_spec spec = {0};
	int nro = 0;

	worker_start(&w, ROLE_VM, dispatch_zk, vm_shutdown, &m);
	m.ops = &ops;
	m.w = &w;
	m.cfg = &w.cfg;
	zk_init(&m);
	spec.user = w.cfg.worker_user[0] ? w.cfg.worker_user : NULL;
	spec.extra_group = getgrnam("libvirt") ? "libvirt" : NULL;
	spec.keep_caps = 0;
	spec.allow_fork = 0;
	spec.seccomp_rules = seccomp_rules;
	if (!w.cfg.enable_hypervisor) {
		if (sandbox_enter(&spec) != 0)
			return PVC_WORKER_EXIT_PERMANENT;
		worker_ready(&w);
		log_info("hypervisor function disabled: vm-manager idle");
		{
			const char *kv[1] = {"hypervisor=disabled"};
			(void)worker_status(&w, kv, 1);
		}
		return worker_run(&w);
	}
	if (vm_libvirt_global_init() != 0) {
		log_errx("libvirt initialisation failed");
		return PVC_WORKER_EXIT_PERMANENT;
	}
	m.lv = vm_libvirt_open(w.cfg.libvirt_uri, w.loop, lv_done, &m, err, sizeof(err));
	if (m.lv == NULL) {
		log_errx("libvirt: %s", err);
		return 1;
	}
	if (!vm_libvirt_connected(m.lv)) {
		log_errx("libvirt: %s", err);
		m.reconnecting = 1; /* reported as such from the start */
	}
	if (w.cfg.console_log_directory[0])
		ro[nro++] = w.cfg.console_log_directory;
	test_driver_file(w.cfg.libvirt_uri, tfile, sizeof(tfile));
	if (tfile[0])
		ro[nro++] = tfile;
	ro[nro++] = "/etc/libvirt";
	spec.ro_paths = ro;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	/* threads after confinement: they inherit the seccomp filter and credentials */
	if (vm_libvirt_start(m.lv, POOL_THREADS) != 0) {
		log_errx("cannot start libvirt threads");
		return 1;
	}
	worker_ready(&w);
	vm_selffence_init(&m);
	(void)worker_send(&w, MSG_VM_HELLO, ROLE_ZK, NULL, 0);
	if (m.reconnecting)
		vm_reconcile_connect_later(&m);
	else
		vm_reconcile_list(&m);
	vm_stats_send(&m);
	return worker_run(&w);
}
