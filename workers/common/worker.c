/*
 * worker.c: the part of every worker that talks to the supervisor: config reception,
 * log forwarding, heartbeat answers, shutdown phases and the frame loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define CONFIG_WAIT_MS 10000

static void worker_update_events(struct worker *w);

static void worker_log_sink(char state, const char *prefix, const char *msg, void *arg)
{
	struct worker *w = arg;
	char st[2] = {state, '\0'};
	const char *v[3] = {st, prefix ? prefix : "", msg};

	if (w->sup.fd < 0 || ipc_send_strv(&w->sup, MSG_LOG, ROLE_SUPERVISOR, v, 3) != 0) {
		log_write_line(state, prefix, msg);
		return;
	}
	/* Log lines matter most right before a crash: push them out now. */
	if (ipc_chan_flush(&w->sup) < 0) {
		log_write_line(state, prefix, msg);
		return;
	}
	/* What the socket did not take goes out on POLLOUT, not at the next ping */
	if (w->loop != NULL)
		worker_update_events(w);
}

static void worker_sup_event(struct ev_loop *loop, int fd, short revents, void *arg);

static void worker_update_events(struct worker *w)
{
	short ev = POLLIN;

	if (ipc_chan_pending(&w->sup))
		ev |= POLLOUT;
	ev_mod_fd(w->loop, w->sup.fd, ev);
}

int worker_send(struct worker *w, uint32_t type, enum pvc_role dest, const void *data,
		size_t len)
{
	if (ipc_send(&w->sup, type, dest, data, len, -1) != 0) {
		log_warnx("cannot queue %s for %s: %s", ipc_type_name(type), role_name(dest),
			  strerror(errno));
		return -1;
	}
	if (ipc_chan_flush(&w->sup) < 0) {
		/* the supervisor is gone; the read side will see EOF and end the loop */
		return -1;
	}
	worker_update_events(w);
	return 0;
}

int worker_send_strv(struct worker *w, uint32_t type, enum pvc_role dest, const char *const *v,
		     uint32_t n)
{
	if (ipc_send_strv(&w->sup, type, dest, v, n) != 0) {
		log_warnx("cannot queue %s for %s: %s", ipc_type_name(type), role_name(dest),
			  strerror(errno));
		return -1;
	}
	if (ipc_chan_flush(&w->sup) < 0)
		return -1;
	worker_update_events(w);
	return 0;
}

int worker_status(struct worker *w, const char *const *kv, uint32_t n)
{
	return worker_send_strv(w, MSG_STATUS, ROLE_SUPERVISOR, kv, n);
}

void worker_shutdown_done(struct worker *w, uint32_t phase)
{
	struct ipc_shutdown s = {.phase = phase};

	(void)worker_send(w, MSG_SHUTDOWN_DONE, ROLE_SUPERVISOR, &s, sizeof(s));
	(void)ipc_chan_flush_wait(&w->sup, 1000);
}

#ifdef PVC_TEST_HOOKS
/* Test builds only: $PVC_TEST_GARBAGE=<role> makes that worker write bytes that are
 * not a frame, to prove the supervisor cuts it off without harm. */
static void worker_test_garbage(struct ev_loop *loop, void *arg)
{
	static const char junk[] = "\xff\xff\xff\xffnot a frame at all, not at all";
	struct worker *w = arg;

	if (write(w->sup.fd, junk, sizeof(junk)) < 0)
		log_warn("test garbage write");
}

/* Test builds only: $PVC_TEST_FLOOD=<role> makes that worker behave like a
 * compromised one for FLOOD_MS after READY: frames (log lines with terminal
 * escapes, status lines, a frame for zk-election, a frame the policy forbids) and
 * stderr lines as fast as the socket and the pipe take them, to prove the supervisor
 * keeps the node working with bounded memory (tests/integration/t52-flood.sh). */
#define FLOOD_MS 15000
#define FLOOD_BATCH 2000

struct worker_flood {
	struct worker *w;
	uint64_t start_ms, sent;
};

static uint32_t worker_flood_hello(enum pvc_role role)
{
	switch (role) {
	case ROLE_FLUSH: return MSG_FLUSH_HELLO;
	case ROLE_VM: return MSG_VM_HELLO;
	case ROLE_NET: return MSG_NET_HELLO;
	default: return 0;
	}
}

static void worker_flood_batch(struct worker_flood *f)
{
	struct worker *w = f->w;
	uint32_t hello = worker_flood_hello(w->role);

	for (int i = 0; i < FLOOD_BATCH && !ipc_chan_pending(&w->sup); i++) {
		char line[96];
		struct ipc_net_cmd cmd = {0};
		const char *v[3] = {"w", "", line}, *kv[1] = {"flood=\033]0;owned\007x"};

		snprintf(line, sizeof(line), "flood line %llu \033[2J\nforged: line",
			 (unsigned long long)f->sent);
		if (ipc_send_strv(&w->sup, MSG_LOG, ROLE_SUPERVISOR, v, 3) != 0 ||
		    ipc_send_strv(&w->sup, MSG_STATUS, ROLE_SUPERVISOR, kv, 1) != 0 ||
		    ipc_send(&w->sup, MSG_NET_TAKEOVER, ROLE_NET, &cmd, sizeof(cmd), -1) != 0 ||
		    (hello && ipc_send(&w->sup, hello, ROLE_ZK, NULL, 0, -1) != 0))
			break;
		f->sent += hello ? 4 : 3;
		if (ipc_chan_flush(&w->sup) < 0)
			return;
	}
	/* one stderr line per batch, with a terminal escape (the pipe is blocking) */
	dprintf(STDERR_FILENO, "flood stderr %llu \033[31mred\n", (unsigned long long)f->sent);
}

static void worker_test_flood_done(struct ev_loop *loop, void *arg)
{
	struct worker_flood *f = arg;

	log_info("flood test: done, %llu frames sent", (unsigned long long)f->sent);
	free(f);
}

static void worker_test_flood(struct ev_loop *loop, void *arg)
{
	struct worker_flood *f = arg;

	if (mono_ms() - f->start_ms >= FLOOD_MS) {
		/* after a pause: the supervisor rightly suppresses log lines right now */
		if (ev_timer(loop, 2000, worker_test_flood_done, f) == 0)
			free(f);
		return;
	}
	worker_flood_batch(f);
	worker_update_events(f->w);
	if (ev_timer(loop, ipc_chan_pending(&f->w->sup) ? 1 : 0, worker_test_flood, f) == 0)
		free(f);
}

static void worker_test_hooks(struct worker *w)
{
	const char *g = getenv("PVC_TEST_GARBAGE"), *fl = getenv("PVC_TEST_FLOOD");

	if (g && strcmp(g, role_name(w->role)) == 0)
		(void)ev_timer(w->loop, 300, worker_test_garbage, w);
	if (fl && strcmp(fl, role_name(w->role)) == 0) {
		struct worker_flood *f = calloc(1, sizeof(*f));
		if (f == NULL)
			return;
		f->w = w;
		f->start_ms = mono_ms();
		log_warnx("flood test: flooding the supervisor for %d ms", FLOOD_MS);
		if (ev_timer(w->loop, 0, worker_test_flood, f) == 0)
			free(f);
	}
}
#endif

void worker_ready(struct worker *w)
{
	w->ready = 1;
	(void)worker_send(w, MSG_READY, ROLE_SUPERVISOR, NULL, 0);
#ifdef PVC_TEST_HOOKS
	worker_test_hooks(w);
	sandbox_test_hook(w->role);
#endif
}

static void worker_handle(struct worker *w, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case MSG_PING:
		/* Answered from the main loop: a hung loop stops answering. */
		(void)worker_send(w, MSG_PONG, ROLE_SUPERVISOR, msg->data, msg->hdr.len);
		break;
	case MSG_SHUTDOWN: {
		struct ipc_shutdown s;
		memcpy(&s, msg->data, sizeof(s));
		if (w->shutdown)
			w->shutdown(w, s.phase);
		else
			worker_shutdown_done(w, s.phase);
		break;
	}
	case MSG_CONFIG:
		log_warnx("ignoring a second configuration from the supervisor");
		break;
	default:
		if (w->dispatch)
			w->dispatch(w, msg);
		break;
	}
}

static int worker_frame(void *arg, struct ipc_msg *msg)
{
	worker_handle(arg, msg);
	return 0;
}

/* Serve the supervisor's channel (revents 0: only what is already buffered). */
static void worker_serve(struct worker *w, short revents)
{
	const char *err = NULL;

	switch (ipc_drain(&w->sup, revents, worker_frame, w, &err)) {
	case IPC_DRAIN_CLOSED:
		/* Supervisor gone: nothing may run unsupervised. */
		log_set_sink(NULL, NULL);
		ev_break(w->loop);
		return;
	case IPC_DRAIN_BAD:
		log_set_sink(NULL, NULL);
		log_errx("malformed frame from the supervisor: %s", err);
		ev_break(w->loop);
		return;
	default:
		break;
	}
	if (w->sup.fd >= 0)
		worker_update_events(w);
}

static void worker_sup_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	worker_serve(arg, revents);
}

static void worker_drain_timer(struct ev_loop *loop, void *arg)
{
	worker_serve(arg, 0);
}

void worker_start(struct worker *w, enum pvc_role role, worker_dispatch_fn dispatch,
		  worker_shutdown_fn shutdown, void *ctx)
{
	struct ipc_msg msg;
	struct log_opts lo = {.colours = 0, .dates = 1, .to_stdout = 1, .debug = 0};

	memset(w, 0, sizeof(*w));
	w->role = role;
	w->dispatch = dispatch;
	w->shutdown = shutdown;
	w->ctx = ctx;
	log_init(role_name(role), &lo);
	/* comm is what operators and tests look for */
	if (prctl(PR_SET_NAME, role_name(role), 0, 0, 0) != 0)
		log_warn("prctl(PR_SET_NAME)");
	/* A worker must never outlive its supervisor. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		fatal("prctl(PR_SET_PDEATHSIG)");
	/* If the supervisor died before PDEATHSIG was set, fd 3 is at EOF and the
	 * configuration read below fails: no orphan survives. (No getppid() == 1 test:
	 * the supervisor may itself be PID 1 in a container.) */
	signal(SIGPIPE, SIG_IGN);
	/* Stopping is the supervisor's decision (MSG_SHUTDOWN, then SIGKILL): a terminal's
	 * Ctrl-C or a signal to the process group must not cut a worker mid-operation. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (set_nonblock(PVC_WORKER_FD) != 0 || set_cloexec(PVC_WORKER_FD) != 0)
		fatal("worker socket (fd %d)", PVC_WORKER_FD);
	ipc_chan_init(&w->sup, PVC_WORKER_FD, role);
	if (ipc_chan_recv_wait(&w->sup, &msg, CONFIG_WAIT_MS) != 0)
		fatal("no configuration from the supervisor");
	if (msg.hdr.type != MSG_CONFIG || msg.hdr.len != sizeof(struct pvc_config))
		fatalx("first frame from the supervisor is %s, not MSG_CONFIG",
		       ipc_type_name(msg.hdr.type));
	memcpy(&w->cfg, msg.data, sizeof(w->cfg));
	ipc_msg_free(&msg);
	lo.colours = w->cfg.log_colours;
	lo.dates = w->cfg.log_dates;
	lo.debug = w->cfg.debug;
	log_set_opts(&lo);
	log_set_sink(worker_log_sink, w);
	w->loop = ev_new();
	if (w->loop == NULL)
		fatalx("out of memory");
	if (ev_add_fd(w->loop, w->sup.fd, POLLIN, worker_sup_event, w) != 0)
		fatalx("out of memory");
	/* frames that arrived together with the config are already buffered */
	if (ev_timer(w->loop, 0, worker_drain_timer, w) == 0)
		fatalx("out of memory");
}

int worker_run(struct worker *w)
{
	int rc = ev_run(w->loop);

	if (rc != 0)
		log_err("event loop");
	return rc == 0 ? 0 : 1;
}

int worker_program_main(enum pvc_role role, int argc, char **argv, int (*role_main)(void))
{
	struct stat st;

	(void)argv;
	/* Only the supervisor starts workers: it hands over the channel on fd 3 and
	 * nothing on the command line. */
	if (argc != 1 || fstat(PVC_WORKER_FD, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "%s: internal program of pvcnoded, started by its supervisor only\n",
			role_program(role));
		return PVC_EXIT_FATAL;
	}
	/* Nothing the supervisor had open may leak into a worker (only fd 0-3). */
	sandbox_close_inherited();
	/* The tests and operators find workers by their role name (comm). */
	(void)prctl(PR_SET_NAME, role_name(role), 0, 0, 0);
	return role_main();
}
