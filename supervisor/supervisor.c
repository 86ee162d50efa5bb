/*
 * supervisor.c: the root process. It starts the five workers (spawn.c), answers for
 * their health (heartbeat.c), restarts any one that dies or hangs (alone, with
 * backoff), routes their frames through the policy table (route.c), serves pvcctl
 * (control.c), and stops everything in order (shutdown.c). Here: start-up, the
 * signals, and the event loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirs.h"
#include "log.h"
#include "priv.h"
#include "supervisor.h"

/* ---- signals ------------------------------------------------------------------------ */

static void sup_signal_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct supervisor *sv = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			sup_spawn_reap(sv);
			break;
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			sup_shutdown_begin(sv, PVC_EXIT_OK,
					   si.ssi_signo == SIGTERM ? "SIGTERM" :
					   si.ssi_signo == SIGINT ? "SIGINT" : "SIGQUIT");
			break;
		case SIGHUP:
			if (sv->cfg.file_logging) {
				char path[CFG_PATH_MAX + 16];
				snprintf(path, sizeof(path), "%s/pvc.log", sv->cfg.log_directory);
				if (log_open_file(path) != 0)
					log_err("reopening %s", path);
				else
					log_info("log file %s reopened", path);
			}
			break;
		default:
			break;
		}
	}
}

static void sup_banner(const struct pvc_config *cfg)
{
	char text[1024];

	logmsg('0', "Parallel Virtual Cluster node daemon v%s (pvcnoded in C)", PVC_VERSION);
	logmsg('0', "    Node: %s%s%s (id %d, %s)", cfg->node_name, cfg->domain_name[0] ? "." : "",
	       cfg->domain_name, cfg->node_id, cfg->is_coordinator ? "coordinator" : "hypervisor");
	logmsg('0', "    IPMI hostname: %s", cfg->ipmi_host);
	logmsg('0', "    ZooKeeper: %s (session timeout %d ms)", cfg->zk_hosts,
	       cfg->zk_session_timeout_ms);
	if (config_node_name_warning(cfg, text, sizeof(text)))
		log_warnx("%s", text);
	if (priv_landlock_decide(priv_landlock_abi(), cfg->allow_no_landlock, text,
				 sizeof(text)) == 0)
		logmsg(cfg->allow_no_landlock && priv_landlock_abi() == 0 ? 'w' : 'i',
		       "Landlock: %s", text);
}

/* The supervisor holds the whole configuration, IPMI password included: never let
 * it reach a core file or another process's ptrace. */
static void no_core_dumps(void)
{
	struct rlimit nocore = {0, 0};

	if (setrlimit(RLIMIT_CORE, &nocore) != 0)
		fatal("setrlimit(RLIMIT_CORE)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatal("prctl(PR_SET_DUMPABLE)");
}

/* Before any worker starts: the checks that refuse to run half-confined, and the
 * directories every process expects (dirs.c). Errors go to stdout/stderr: the log
 * file may be what is missing. */
static void setup_host(const struct pvc_config *cfg)
{
	char text[512];

	if (priv_landlock_decide(priv_landlock_abi(), cfg->allow_no_landlock, text,
				 sizeof(text)) != 0)
		fatal_code(PVC_EXIT_CONFIG, "%s: %s", cfg->config_path, text);
	if (sup_dirs_prepare(cfg, text, sizeof(text)) != 0)
		fatalx("%s: %s", cfg->config_path, text);
}

static void setup_logging(const struct pvc_config *cfg)
{
	struct log_opts lo;

	lo.colours = cfg->log_colours;
	lo.dates = cfg->log_dates;
	lo.to_stdout = cfg->stdout_logging;
	lo.debug = cfg->debug;
	log_init("", &lo);
	setup_host(cfg);
	if (cfg->file_logging) {
		char path[CFG_PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/pvc.log", cfg->log_directory);
		if (log_open_file(path) != 0)
			fatal("opening %s", path);
	}
}

/* Signals arrive through a signalfd in the event loop; SIGPIPE is ignored (a worker
 * gone on write is seen by its channel). */
static void setup_signals(struct supervisor *sv)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	sv->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv->sigfd < 0)
		fatal("signalfd");
	if (ev_add_fd(sv->loop, sv->sigfd, POLLIN, sup_signal_event, sv) != 0)
		fatalx("out of memory");
}

/* ---- what the control socket may ask (control.h) ------------------------------------ */

static int ctl_forward(void *ctx, enum pvc_role dest, const struct ipc_msg *msg)
{
	return sup_child_forward(ctx, dest, msg);
}

static int ctl_running(void *ctx, enum pvc_role role)
{
	struct supervisor *sv = ctx;

	return sv->kids[role].state == CHILD_RUNNING;
}

static void ctl_status(void *ctx, struct ipc_strv_buf *b)
{
	sup_status_fill(ctx, b);
}

/* Open the control socket and the worker programs, then start every worker. */
static void start(struct supervisor *sv)
{
	const struct control_ops ops = {
		.forward = ctl_forward,
		.running = ctl_running,
		.status = ctl_status,
		.ctx = sv,
	};

	sv->ctl = control_open(sv->loop, sv->cfg.dynamic_directory, &ops);
	if (sv->ctl == NULL)
		fatalx("cannot open the control socket in %s", sv->cfg.dynamic_directory);
	sv->watchdog_usec = notify_watchdog_usec();

	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		sv->kids[r].role = (enum pvc_role)r;
		sv->kids[r].chan.fd = -1;
		sv->kids[r].program_fd = -1;
		sv->kids[r].wanted = config_role_wanted(&sv->cfg, r);
		if (!sv->kids[r].wanted)
			sv->kids[r].state = CHILD_STOPPED;
	}
	if (programs_open(sv) != 0)
		fatalx("cannot start without the worker programs");
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++)
		if (sv->kids[r].wanted)
			sup_spawn_start(sv, &sv->kids[r]);
	sup_heartbeat_start(sv);
}

static void teardown(struct supervisor *sv)
{
	control_close(sv->ctl);
	sv->ctl = NULL;
	programs_close(sv);
	for (int r = WORKER_FIRST; r <= WORKER_LAST; r++) {
		ipc_chan_close(&sv->kids[r].chan);
		sup_child_clear_status(&sv->kids[r]);
	}
	close(sv->sigfd);
	ev_free(sv->loop);
	explicit_bzero(&sv->cfg, sizeof(sv->cfg));
}

int supervisor_main(const struct pvc_config *cfg)
{
	struct supervisor *sv = calloc(1, sizeof(*sv));
	int exit_code;

	if (sv == NULL)
		fatalx("out of memory");
	no_core_dumps();
	sv->cfg = *cfg;
	sv->start_ms = mono_ms();
	setup_logging(cfg);
	sup_banner(cfg);
	log_sys("pvcnoded starting up");
	/* a supervisor that keeps more than its list would be full root in disguise */
	if (priv_supervisor_limit() != 0)
		fatalx("cannot limit the supervisor's capabilities (see above): refusing to run");

	sv->loop = ev_new();
	if (sv->loop == NULL)
		fatalx("out of memory");
	setup_signals(sv);
	start(sv);
	if (ev_run(sv->loop) != 0)
		log_err("supervisor event loop");
	exit_code = sv->exit_code;
	teardown(sv);
	free(sv);
	return exit_code;
}
