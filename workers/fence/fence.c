/*
 * fence.c: the fence worker (issue #8, docs/fencing.md). zk-election asks it to
 * power-cycle a dead node over IPMI (MSG_FENCE_REQ); it runs
 *   ipmitool -I lanplus -H host -U user -E chassis power reset
 *   ... status, then ... on if the status is not "Chassis Power is on", then status
 * each with a deadline, and answers MSG_FENCE_RESULT. It holds no ZooKeeper session:
 * a compromised ipmitool (or BMC answer) reaches nothing but this process, which
 * has no capability, no network beyond UDP/IP sockets and no writable file.
 * Requests are served one at a time, in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fence.h"
#include "log.h"
#include "sandbox.h"

#define FENCE_CMD_TIMEOUT_MS 30000 /* per ipmitool run; an unreachable BMC: ~20 s of retries */
#define FENCE_SETTLE_MS 1000       /* BMCs report the new state a moment after reset */
#define FENCE_QUEUE_MAX 64

enum fstep { FS_RESET, FS_STATUS1, FS_ON, FS_STATUS2 };

struct fjob {
	struct fjob *next;
	char id[FENCE_ID_MAX];
	char node[CFG_NAME_MAX];
	char host[256], user[256];
	char *pass;
	size_t passlen;
};

struct fence_ctx {
	struct worker *w;
	struct fjob *queue, *cur;
	int nqueued;
	enum fstep step;
	struct cmdrun cmd;
	int running;
	int reset_ok, final_on;
	char detail[512];
	uint64_t settle_timer;
};

static void job_next(struct fence_ctx *f);

static void job_free(struct fjob *j)
{
	if (j == NULL)
		return;
	if (j->pass) {
		explicit_bzero(j->pass, j->passlen);
		free(j->pass);
	}
	explicit_bzero(j, sizeof(*j));
	free(j);
}

static void job_answer(struct fence_ctx *f, int ok)
{
	const char *v[4];

	v[0] = f->cur->id;
	v[1] = f->cur->node;
	v[2] = ok ? "ok" : "failed";
	v[3] = f->detail;
	if (ok)
		log_ok("fence: node %s: IPMI fence succeeded (%s)", f->cur->node, f->detail);
	else
		log_errx("fence: node %s: IPMI fence FAILED (%s)", f->cur->node, f->detail);
	(void)worker_send_strv(f->w, MSG_FENCE_RESULT, ROLE_ZK, v, 4);
	job_free(f->cur);
	f->cur = NULL;
	job_next(f);
}

static const char *step_name(enum fstep s)
{
	return s == FS_RESET ? "reset" : s == FS_ON ? "on" : "status";
}

static void cmd_done(struct cmdrun *c, void *arg);

static void run_step(struct fence_ctx *f)
{
	struct fjob *j = f->cur;
	const char *argv[] = {"ipmitool", "-I", "lanplus", "-H", j->host, "-U", j->user, "-E",
			      "chassis", "power", step_name(f->step), NULL};

	if (fence_run_start(&f->cmd, f->w->loop, argv, j->pass, FENCE_CMD_TIMEOUT_MS, cmd_done,
			    f) != 0) {
		snprintf(f->detail, sizeof(f->detail), "cannot run ipmitool chassis power %s",
			 step_name(f->step));
		job_answer(f, 0);
		return;
	}
	f->running = 1;
}

static void settle_cb(struct ev_loop *loop, void *arg)
{
	struct fence_ctx *f = arg;

	f->settle_timer = 0;
	if (f->cur)
		run_step(f);
}

static void cmd_done(struct cmdrun *c, void *arg)
{
	struct fence_ctx *f = arg;
	struct fjob *j = f->cur;
	char how[256];
	int ok = cmdrun_ok(c);
	int on = ok && fence_util_status_is_on(c->out); /* before scrubbing joins the lines */

	f->running = 0;
	cmdrun_describe(c, how, sizeof(how));
	fence_util_scrub(c->out, j->pass);
	log_info("fence: node %s: ipmitool -I lanplus -H %s -U %s -E chassis power %s: %s%s%.200s",
		 j->node, j->host, j->user, step_name(f->step), how, c->out[0] ? ": " : "",
		 c->out);
	switch (f->step) {
	case FS_RESET:
		f->reset_ok = ok;
		snprintf(f->detail, sizeof(f->detail), "reset %s", how);
		f->step = FS_STATUS1;
		f->settle_timer = ev_timer(f->w->loop, FENCE_SETTLE_MS, settle_cb, f);
		if (f->settle_timer == 0)
			run_step(f);
		return;
	case FS_STATUS1:
		if (on) {
			f->final_on = 1;
			break;
		}
		f->step = FS_ON;
		run_step(f);
		return;
	case FS_ON:
		f->step = FS_STATUS2;
		run_step(f);
		return;
	case FS_STATUS2:
		f->final_on = on;
		break;
	}
	{
		size_t n = strlen(f->detail);
		snprintf(f->detail + n, sizeof(f->detail) - n, "; power %s",
			 f->final_on ? "on" : "not confirmed on");
	}
	/* a reset the BMC refused, or a machine that did not come back on, is not a
	 * fence we can vouch for (ref §12.2 #20) */
	job_answer(f, f->reset_ok && f->final_on);
}

static void job_next(struct fence_ctx *f)
{
	if (f->cur != NULL || f->queue == NULL)
		return;
	f->cur = f->queue;
	f->queue = f->cur->next;
	f->nqueued--;
	f->cur->next = NULL;
	f->step = FS_RESET;
	f->reset_ok = f->final_on = 0;
	f->detail[0] = '\0';
	log_warnx("fence: node %s: power-cycling it through its BMC %s (request %s)",
		  f->cur->node, f->cur->host, f->cur->id);
	run_step(f);
}

static void handle_req(struct fence_ctx *f, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;
	struct fjob *j, **tail;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
		log_warnx("fence: malformed FENCE_REQ: %s", err ? err : "?");
		return;
	}
	if (sv.n != 5 || !fence_util_valid_id(sv.v[0]) || !valid_node_name(sv.v[1])) {
		log_warnx("fence: FENCE_REQ with %u fields or an invalid id/node ignored", sv.n);
		goto out;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		log_errx("fence: out of memory");
		goto out;
	}
	strlcpy_pvc(j->id, sv.v[0], sizeof(j->id));
	strlcpy_pvc(j->node, sv.v[1], sizeof(j->node));
	if (!fence_util_valid_arg(sv.v[2]) || !fence_util_valid_arg(sv.v[3]) ||
	    f->nqueued >= FENCE_QUEUE_MAX) {
		const char *v[4] = {j->id, j->node, "failed",
				    f->nqueued >= FENCE_QUEUE_MAX ? "too many queued fences"
				    : "invalid IPMI host name or user name"};
		log_errx("fence: node %s: %s (host '%.64s')", j->node, v[3],
			 fence_util_valid_arg(sv.v[2]) ? sv.v[2] : "(invalid)");
		(void)worker_send_strv(f->w, MSG_FENCE_RESULT, ROLE_ZK, v, 4);
		job_free(j);
		goto out;
	}
	strlcpy_pvc(j->host, sv.v[2], sizeof(j->host));
	strlcpy_pvc(j->user, sv.v[3], sizeof(j->user));
	j->passlen = sv.lens[4] + 1;
	j->pass = malloc(j->passlen);
	if (j->pass == NULL) {
		job_free(j);
		log_errx("fence: out of memory");
		goto out;
	}
	memcpy(j->pass, sv.v[4], j->passlen);
	for (tail = &f->queue; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	f->nqueued++;
	job_next(f);
out:
	/* the decoded copy of the password */
	if (sv.n >= 5)
		explicit_bzero(sv.v[4], sv.lens[4]);
	ipc_strv_free(&sv);
}

static void fence_dispatch_zk(struct fence_ctx *f, struct ipc_msg *msg)
{
	if (msg->hdr.type == MSG_FENCE_REQ)
		handle_req(f, msg);
	else
		log_warnx("fence: unexpected %s from zk-election", ipc_type_name(msg->hdr.type));
	/* the frame buffer held the password too */
	if (msg->data && msg->hdr.len)
		explicit_bzero(msg->data, msg->hdr.len);
}

static void fence_dispatch(struct worker *w, struct ipc_msg *msg)
{
	struct fence_ctx *f = w->ctx;

	if (msg->hdr.sender == ROLE_ZK)
		fence_dispatch_zk(f, msg);
	else
		log_warnx("fence: %s from %s ignored", ipc_type_name(msg->hdr.type),
			  role_name(msg->hdr.sender));
}

static void fence_shutdown(struct worker *w, uint32_t phase)
{
	struct fence_ctx *f = w->ctx;

	/* a node going down stops fencing others: a survivor takes over (the dead
	 * node stays `dead` in ZooKeeper and the next fencer sees it) */
	if (f->running) {
		log_warnx("fence: shutdown: abandoning the fence of node %s", f->cur->node);
		cmdrun_abort(&f->cmd);
		f->running = 0;
	}
	if (f->settle_timer) {
		ev_timer_cancel(w->loop, f->settle_timer);
		f->settle_timer = 0;
	}
	job_free(f->cur);
	f->cur = NULL;
	while (f->queue) {
		struct fjob *j = f->queue;
		f->queue = j->next;
		job_free(j);
	}
	f->nqueued = 0;
	worker_shutdown_done(w, phase);
}

/* Landlock: execute and read the PATH directories and the system libraries, read
 * /etc; nothing writable. The list is built from $PATH before confinement. */
static int build_rx(char **buf, const char ***list)
{
	static const char *const sys[] = {"/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/libexec",
					  "/usr/share/misc"};
	const char *path = getenv("PATH");
	size_t n = 0, cap = sizeof(sys) / sizeof(sys[0]) + 1;
	const char **l;
	char *p, *save = NULL;

	if (path == NULL || path[0] == '\0')
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	*buf = strdup(path);
	if (*buf == NULL)
		return -1;
	for (p = *buf; *p; p++)
		cap += *p == ':';
	l = calloc(cap + 1, sizeof(*l));
	if (l == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		l[n++] = sys[i];
	for (p = strtok_r(*buf, ":", &save); p; p = strtok_r(NULL, ":", &save))
		/* relative entries are never honoured; "/" would open the whole tree */
		if (p[0] == '/' && p[strspn(p, "/")] != '\0' && n < cap)
			l[n++] = p;
	l[n] = NULL;
	*list = l;
	return 0;
}

int fence_main(void)
{
	static struct worker w;
	static struct fence_ctx f;
	static const char *const ro[] = {"/etc", NULL};
	struct sandbox_spec spec;
	char *pathbuf = NULL;
	const char **rx = NULL;

	worker_start(&w, ROLE_FENCE, fence_dispatch, fence_shutdown, &f);
	f.w = &w;
	if (build_rx(&pathbuf, &rx) != 0) {
		log_errx("fence: out of memory");
		return PVC_EXIT_FATAL;
	}
	/* ipmitool must not inherit the channel to the supervisor */
	if (set_cloexec(w.sup.fd) != 0) {
		log_err("fence: close-on-exec on the supervisor channel");
		return PVC_WORKER_EXIT_PERMANENT;
	}
	memset(&spec, 0, sizeof(spec));
	spec.user = w.cfg.worker_user[0] ? w.cfg.worker_user : NULL;
	spec.allow_fork = 1;
	spec.ro_paths = ro;
	spec.rx_paths = rx;
	spec.seccomp_rules = fence_seccomp_rules;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	worker_ready(&w);
	{
		const char *kv[1] = {"ipmitool=on-demand"};
		(void)worker_status(&w, kv, 1);
	}
	return worker_run(&w);
}
