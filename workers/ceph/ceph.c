/*
 * ceph.c: the ceph worker (issue 19, docs/ceph.md): the storage side of the
 * reference's keepalive (Ceph status, rados df, pool and OSD statistics into
 * ZooKeeper) and the breaking of RBD locks for zk-election (flush_locks, fence
 * recovery). It alone reads the cluster keyring; it writes ZooKeeper only through
 * zk-election's request API, under the path table of lib/policy.c.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ceph_int.h"
#include "log.h"
#include "sandbox.h"
#include "strv.h"

static int send_zk(void *arg, uint32_t type, const char *const *v, uint32_t n)
{
	struct ceph_ctx *c = arg;

	return worker_send_strv(c->w, type, ROLE_ZK, v, n);
}

static void tick(struct ev_loop *loop, void *arg)
{
	struct ceph_ctx *c = arg;

	c->timer = ev_timer(loop, (uint64_t)c->w->cfg.keepalive_interval * 1000, tick, c);
	if (!c->stopping)
		ceph_cycle_start(c);
}

static void wake_cb(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct ceph_ctx *c = arg;
	struct ceph_job *j = ceph_rados_take_done(&c->r);

	while (j) {
		struct ceph_job *next = j->next;
		j->next = NULL;
		ceph_cycle_job_done(c, j);
		j = next;
	}
}

static void ceph_dispatch(struct worker *w, struct ipc_msg *msg)
{
	struct ceph_ctx *c = w->ctx;

	switch (msg->hdr.type) {
	case MSG_SVC_PRIMARY: {
		struct ipc_svc_primary p;
		memcpy(&p, msg->data, sizeof(p));
		if (c->primary != (p.primary == 1))
			log_info("ceph: %s the cluster statistics (primary %d)",
				 p.primary == 1 ? "writing" : "no longer writing", p.primary);
		c->primary = p.primary == 1;
		break;
	}
	case MSG_ZK_REPLY:
		(void)ipc_zkreq_reply_msg(&c->zk, msg);
		break;
	case MSG_CEPH_CMD:
		ceph_cycle_cmd(c, msg);
		break;
	default:
		log_warnx("ceph: unexpected %s", ipc_type_name(msg->hdr.type));
	}
}

static void ceph_shutdown(struct worker *w, uint32_t phase)
{
	struct ceph_ctx *c = w->ctx;

	c->stopping = 1;
	if (c->timer) {
		ev_timer_cancel(w->loop, c->timer);
		c->timer = 0;
	}
	if (phase >= 2)
		ceph_rados_stop(&c->r);
	worker_shutdown_done(w, phase);
}

/* Landlock: read ceph.conf, the keyring and what librados loads (its plugins under
 * /usr/lib), name resolution for a monitor given by host name; nothing writable. */
static int enter_sandbox(struct ceph_ctx *c)
{
	const char *ro[16] = {SANDBOX_RESOLVER_FILES};
	static const char *const rx[] = {"/usr/lib", "/lib", "/lib64", "/usr/lib64", NULL};
	struct sandbox_spec spec;
	size_t n = 7;

	ro[n++] = c->w->cfg.ceph_conf;
	ro[n++] = "/etc/ceph";
	if (c->w->cfg.ceph_keyring[0])
		ro[n++] = c->w->cfg.ceph_keyring;
	ro[n] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.user = c->w->cfg.worker_user[0] ? c->w->cfg.worker_user : NULL;
	spec.ro_paths = ro;
	spec.rx_paths = rx;
	spec.seccomp_rules = ceph_seccomp_rules;
	return sandbox_enter(&spec);
}

/* The keyring is the cluster's admin key: only this worker's user may read it. */
static void keyring_check(const struct pvc_config *cfg)
{
	struct stat st;

	if (cfg->ceph_keyring[0] == '\0')
		return; /* the one ceph.conf names: librados reports what it cannot read */
	if (stat(cfg->ceph_keyring, &st) != 0) {
		log_warn("ceph: keyring %s", cfg->ceph_keyring);
		return;
	}
	if (st.st_mode & 0077)
		log_warnx("ceph: keyring %s is readable by others than its owner (mode %04o): "
			  "make it readable by %s only (chmod 0400)", cfg->ceph_keyring,
			  (unsigned)(st.st_mode & 07777),
			  cfg->worker_user[0] ? cfg->worker_user : "the ceph worker's user");
}

int ceph_main(void)
{
	static struct worker w;
	static struct ceph_ctx c;
	struct ipc_zkreq_policy pol = {.reply_timeout_ms = 5000, .fresh_id = 1,
				       .retry_min_ms = 200, .retry_max_ms = 5000,
				       .garbage_retries = 2, .max_inflight = 256};

	worker_start(&w, ROLE_CEPH, ceph_dispatch, ceph_shutdown, &c);
	c.w = &w;
	if (enter_sandbox(&c) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	keyring_check(&w.cfg);
	/* the thread starts confined: it inherits the filter and the Landlock domain */
	if (ceph_rados_init(&c.r, &w.cfg) != 0)
		return PVC_EXIT_FATAL;
	ipc_zkreq_init(&c.zk, w.loop, "ceph.", &pol, send_zk, &c);
	if (ev_add_fd(w.loop, c.r.wake[0], POLLIN, wake_cb, &c) != 0) {
		log_errx("ceph: cannot watch the rados thread");
		return PVC_EXIT_FATAL;
	}
	c.timer = ev_timer(w.loop, 200, tick, &c);
	worker_ready(&w);
	if (worker_send(&w, MSG_SVC_HELLO, ROLE_ZK, NULL, 0) != 0)
		log_warnx("ceph: cannot greet zk-election");
	{
		const char *kv[1] = {"cluster=connecting"};
		(void)worker_status(&w, kv, 1);
	}
	return worker_run(&w);
}
