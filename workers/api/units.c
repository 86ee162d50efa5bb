/*
 * units.c: the api-units worker (issue 17). zk-election tells it whether this
 * node is primary (MSG_SVC_PRIMARY, after net-router confirmed the floating
 * addresses); it then runs, one at a time and in the reference's order (plan.c):
 *   patronictl -c /etc/patroni/config.yml -d zookeeper://localhost:2181 \
 *       switchover --candidate <node> --force pvc
 *   systemctl start pvcapid.service; systemctl start pvcapid-worker.service
 * and on relinquish systemctl stop of both. Each command has a deadline and its
 * output (tail) is logged; a failure is logged and the sequence goes on, as the
 * reference's run_os_command calls do. systemctl is only run when PID 1 is
 * systemd (or pvc.system.api.systemctl names a command explicitly).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "evloop.h"
#include "log.h"
#include "sandbox.h"

#define API_PATRONI_CONFIG "/etc/patroni/config.yml"
#define API_PATRONI_DCS "zookeeper://localhost:2181"
#define API_PATRONI_CLUSTER "pvc"

struct api_ctx {
	struct worker *w;
	struct api_plan plan;
	struct cmdrun cmd;
	enum api_step step;      /* the running step */
	uint64_t delay_timer;    /* before a switchover retry */
	uint64_t epoch;          /* of the last MSG_SVC_PRIMARY */
	uint64_t nosystemd_gen;  /* sequence whose "no systemd" error is logged */
	uint32_t shutdown_phase; /* non-zero: answer it once the stop is over */
	char last[256];          /* the last command's result, for the status */
};

static void api_pump(struct api_ctx *a);

static void api_status(struct api_ctx *a)
{
	char k1[32], k2[96], k3[280];
	const char *kv[3] = {k1, k2, k3};

	snprintf(k1, sizeof k1, "primary=%d", a->plan.want);
	snprintf(k2, sizeof k2, "running=%s",
		 a->plan.running ? api_plan_step_name(a->step) : "none");
	snprintf(k3, sizeof k3, "last=%s", a->last[0] ? a->last : "none");
	(void)worker_status(a->w, kv, 3);
}

/* systemd when PID 1 is systemd (sd_booted()'s test), or an explicit command. */
static int api_systemd_usable(const struct api_ctx *a)
{
	struct stat st;

	return a->w->cfg.api_systemctl_set ||
	       (lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode));
}

static void cmd_done(struct cmdrun *c, void *arg);

/* Start the command of `s`; 0 started, -1 skipped (logged). */
static int api_start_step(struct api_ctx *a, enum api_step s)
{
	const struct pvc_config *cfg = &a->w->cfg;
	int patroni = s == API_STEP_PATRONI;
	const char *path = patroni ? cfg->api_patronictl : cfg->api_systemctl;
	const char *key = patroni ? "pvc.system.api.patronictl" : "pvc.system.api.systemctl";
	const char *verb = (s == API_STEP_START_API || s == API_STEP_START_WORKER) ? "start" : "stop";
	const char *unit = (s == API_STEP_START_API || s == API_STEP_STOP_API)
				   ? "pvcapid.service" : "pvcapid-worker.service";
	const char *pargv[] = {path, "-c", API_PATRONI_CONFIG, "-d", API_PATRONI_DCS, "switchover",
			       "--candidate", cfg->node_name, "--force", API_PATRONI_CLUSTER, NULL};
	const char *sargv[] = {path, verb, unit, NULL};
	char why[160];

	if (!patroni && !api_systemd_usable(a)) {
		if (a->nosystemd_gen != a->plan.gen)
			log_errx("api-units: the API units were not %s: PID 1 is not systemd "
				 "(/run/systemd/system is missing) and pvc.system.api.systemctl is "
				 "not set; pvcapid.service and pvcapid-worker.service must be %s "
				 "by other means", s <= API_STEP_START_WORKER ? "started" : "stopped",
				 s <= API_STEP_START_WORKER ? "started" : "stopped");
		a->nosystemd_gen = a->plan.gen;
		return -1;
	}
	if (api_util_check_command(path, why, sizeof why) != 0) {
		log_errx("api-units: %s: not run: %s %s: %s", api_plan_step_name(s), key, path, why);
		return -1;
	}
	if (patroni)
		log_info("api-units: setting the Patroni leader to this node (try %d/%d)",
			 a->plan.patroni_tries + 1, API_PATRONI_TRIES);
	else
		log_info("api-units: %s", api_plan_step_name(s));
	if (api_run_start(&a->cmd, a->w->loop, patroni ? pargv : sargv,
			  (unsigned)cfg->api_command_timeout_ms, cmd_done, a) != 0) {
		log_errx("api-units: %s: cannot run %s", api_plan_step_name(s), path);
		return -1;
	}
	return 0;
}

static void delay_cb(struct ev_loop *loop, void *arg)
{
	struct api_ctx *a = arg;

	a->delay_timer = 0;
	api_pump(a);
}

/* The reference's reading of patronictl (api_util_patroni_verdict); a deadline
 * ends the switchover (the reference would have waited forever). */
static enum api_result patroni_result(struct api_ctx *a, struct cmdrun *c, const char *how)
{
	enum api_patroni_verdict v = api_util_patroni_verdict(c->out, cmdrun_ok(c));

	api_util_oneline(c->out);
	if (c->timed_out) {
		log_errx("api-units: patronictl switchover: %s; giving up the Patroni switchover%s%.400s",
			 how, c->out[0] ? ": " : "", c->out);
		return API_RES_OK;
	}
	if (v == API_PATRONI_SAME) {
		log_warnx("api-units: Patroni leader already on this node; this is fine (%s: %.400s)",
			  how, c->out);
		return API_RES_OK;
	}
	if (v == API_PATRONI_OK) {
		log_ok("api-units: switched the Patroni leader to this node (%s): %.400s", how,
		       c->out);
		return API_RES_OK;
	}
	if (a->plan.patroni_tries + 1 >= API_PATRONI_TRIES)
		log_errx("api-units: failed to switch the Patroni leader after %d tries; aborting "
			 "(%s: %.400s)", API_PATRONI_TRIES, how, c->out);
	else
		log_errx("api-units: failed to switch the Patroni leader; retrying [%d/%d] (%s: %.400s)",
			 a->plan.patroni_tries + 1, API_PATRONI_TRIES, how, c->out);
	return API_RES_RETRY;
}

static void cmd_done(struct cmdrun *c, void *arg)
{
	struct api_ctx *a = arg;
	enum api_result r = API_RES_OK;
	char how[160];
	unsigned delay;

	cmdrun_describe(c, how, sizeof how);
	if (a->step == API_STEP_PATRONI) {
		r = patroni_result(a, c, how);
	} else {
		api_util_oneline(c->out);
		if (cmdrun_ok(c))
			log_ok("api-units: systemctl %s: %s%s%.400s", api_plan_step_name(a->step), how,
			       c->out[0] ? ": " : "", c->out);
		else
			log_errx("api-units: systemctl %s FAILED: %s%s%.400s",
				 api_plan_step_name(a->step), how, c->out[0] ? ": " : "", c->out);
	}
	snprintf(a->last, sizeof a->last, "%s: %s", api_plan_step_name(a->step), how);
	delay = api_plan_done(&a->plan, r);
	if (delay) {
		a->delay_timer = ev_timer(a->w->loop, delay, delay_cb, a);
		if (a->delay_timer != 0) {
			api_status(a);
			return;
		}
	}
	api_pump(a);
}

static void api_pump(struct api_ctx *a)
{
	enum api_step s;

	if (a->delay_timer)
		return;
	while ((s = api_plan_next(&a->plan)) != API_STEP_NONE) {
		a->step = s;
		if (api_start_step(a, s) == 0)
			break;
		(void)api_plan_done(&a->plan, API_RES_OK); /* skipped: logged, go on */
	}
	api_status(a);
	if (a->shutdown_phase && api_plan_idle(&a->plan)) {
		uint32_t ph = a->shutdown_phase;

		a->shutdown_phase = 0;
		worker_shutdown_done(a->w, ph);
	}
}

static void api_instruct(struct api_ctx *a, const struct ipc_svc_primary *m)
{
	enum api_action act;

	/* frames arrive in order over one channel; the epoch is not compared, as a
	 * restarted zk-election counts from zero again */
	a->epoch = m->epoch;
	act = api_plan_instruct(&a->plan, m->primary != 0);
	if (act == API_ACT_NONE)
		return;
	log_info("api-units: %s (epoch %llu)",
		 m->primary ? "this node is now primary: taking over the API"
			    : "this node is no longer primary: stopping the API",
		 (unsigned long long)a->epoch);
	if (act == API_ACT_CANCEL) {
		cmdrun_abort(&a->cmd);
		api_util_oneline(a->cmd.out);
		log_warnx("api-units: %s abandoned (killed): the primary state changed%s%.400s",
			  api_plan_step_name(a->step), a->cmd.out[0] ? ": " : "", a->cmd.out);
		(void)api_plan_done(&a->plan, API_RES_OK); /* stale: ignored */
	}
	if (a->delay_timer) {
		ev_timer_cancel(a->w->loop, a->delay_timer);
		a->delay_timer = 0;
	}
	api_pump(a);
}

static void api_dispatch(struct worker *w, struct ipc_msg *msg)
{
	struct api_ctx *a = w->ctx;
	struct ipc_svc_primary m;

	if (msg->hdr.sender != ROLE_ZK || msg->hdr.type != MSG_SVC_PRIMARY ||
	    msg->hdr.len != sizeof(m)) {
		log_warnx("api-units: %s from %s ignored", ipc_type_name(msg->hdr.type),
			  role_name(msg->hdr.sender));
		return;
	}
	memcpy(&m, msg->data, sizeof(m));
	api_instruct(a, &m);
}

/* By now zk-election has handed the primary over (primary=0 sent): let the stop
 * finish (the supervisor bounds the phase); a takeover in progress is abandoned. */
static void api_shutdown(struct worker *w, uint32_t phase)
{
	struct api_ctx *a = w->ctx;

	if (a->plan.want == 1 || api_plan_idle(&a->plan)) {
		if (a->plan.running) {
			cmdrun_abort(&a->cmd);
			(void)api_plan_done(&a->plan, API_RES_OK);
		}
		if (a->delay_timer)
			ev_timer_cancel(w->loop, a->delay_timer);
		a->delay_timer = 0;
		worker_shutdown_done(w, phase);
		return;
	}
	log_info("api-units: shutdown: finishing the stop of the API units first");
	a->shutdown_phase = phase;
}

/* The directory of a configured command (for Landlock), or NULL when it is one of
 * the system directories already listed. */
static const char *api_units_dir(char *buf, size_t size, const char *path)
{
	char *slash;

	snprintf(buf, size, "%s", path);
	slash = strrchr(buf, '/');
	if (slash == NULL || slash == buf)
		return NULL;
	*slash = '\0';
	return buf;
}

/* Landlock: read+execute what systemctl and patronictl (Python) are made of, read
 * /etc (the Patroni configuration, name resolution), /proc and the cgroup tree
 * (systemctl), /run/systemd, /usr/share; nothing writable but /dev/null. */
int api_units_main(void)
{
	static struct worker w;
	static struct api_ctx a;
	static char d1[CFG_PATH_MAX], d2[CFG_PATH_MAX];
	static const char *rx[] = {"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/lib", "/lib",
				   "/lib64", "/usr/lib64", "/usr/libexec", "/usr/local",
				   NULL, NULL, NULL};
	static const char *const ro[] = {"/etc", "/proc", "/sys/fs/cgroup", "/run/systemd",
					 "/usr/share", "/dev/urandom", NULL};
	/* shells and Python open /dev/null for writing (2>/dev/null, subprocess) */
	static const char *const rw[] = {"/dev/null", NULL};
	struct sandbox_spec spec;
	size_t n = 10;

	worker_start(&w, ROLE_API, api_dispatch, api_shutdown, &a);
	a.w = &w;
	api_plan_init(&a.plan);
	if ((rx[n] = api_units_dir(d1, sizeof d1, w.cfg.api_systemctl)) != NULL)
		n++;
	rx[n] = api_units_dir(d2, sizeof d2, w.cfg.api_patronictl);
	/* the commands must not inherit the channel to the supervisor */
	if (set_cloexec(w.sup.fd) != 0) {
		log_err("api-units: close-on-exec on the supervisor channel");
		return PVC_WORKER_EXIT_PERMANENT;
	}
	memset(&spec, 0, sizeof(spec));
	spec.user = w.cfg.worker_user[0] ? w.cfg.worker_user : NULL;
	spec.allow_fork = 1;
	spec.ro_paths = ro;
	spec.rw_paths = rw;
	spec.rx_paths = rx;
	spec.seccomp_rules = api_seccomp_rules;
	if (sandbox_enter(&spec) != 0)
		return PVC_WORKER_EXIT_PERMANENT;
	worker_ready(&w);
	api_status(&a);
	/* zk-election answers with the current state, then sends every change */
	if (worker_send(&w, MSG_SVC_HELLO, ROLE_ZK, NULL, 0) != 0)
		log_warnx("api-units: cannot greet zk-election");
	return worker_run(&w);
}
