/*
 * dnsmasq.c: dnsmasq per managed network while primary (ref §7.5, §7.6, with
 * its bugs fixed: arguments are an argv, never a string re-split on spaces;
 * processes are reaped, stopped by PID and supervised; reservations come from
 * dhcp4_reservations and the whole hosts directory is regenerated at start).
 *
 * dnsmasq runs as net-router's user and inherits its seccomp filter, Landlock
 * domain and no_new_privs, plus a narrower filter of its own stacked right before
 * execve (net_seccomp_dnsmasq_prog: no packet socket, rtnetlink only, no pidfd
 * signals). It gets CAP_NET_BIND_SERVICE and CAP_NET_ADMIN as ambient
 * capabilities (see router.c), CAP_NET_RAW only on networks that send router
 * advertisements. It is a child of this process, forked with clone(CLONE_PIDFD):
 * the pidfd in the event loop says when it dies (and is the only way net-router
 * may signal it, seccomp.c), PR_SET_PDEATHSIG takes it down with a dying
 * net-router, and a PID file per network lets the next net-router stop one that
 * survived anyway.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/capability.h>
#include <linux/seccomp.h>

#include "log.h"
#include "net_dnsmasq.h"
#include "net_seccomp.h"
#include "pvc.h"

/* ---- processes ---------------------------------------------------------------- */

static struct dnsm_proc *find(struct dnsm *m, uint32_t vni)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i]->vni == vni)
			return m->v[i];
	return NULL;
}

static void def_copy(struct netdef *dst, const struct netdef *src)
{
	*dst = *src;
	dst->acl_in = dst->acl_out = NULL;
	dst->nacl_in = dst->nacl_out = 0;
	dst->res = NULL;
	dst->nres = 0;
	if (src->nres) {
		dst->res = malloc(src->nres * sizeof(src->res[0]));
		if (dst->res) {
			memcpy(dst->res, src->res, src->nres * sizeof(src->res[0]));
			dst->nres = src->nres;
		} else {
			log_errx("network %u: out of memory for reservations", src->vni);
		}
	}
}

static int sig_of(struct dnsm *m, const struct netdef *d, char **out)
{
	static char store[8192];
	char *argv[DNSM_MAX_ARGS], hosts[320];
	size_t len = 0;
	int n;
	char *s;

	snprintf(hosts, sizeof(hosts), "%s/%u", m->dir, d->vni);
	n = net_dnsmasq_args_build(d, m->helper, hosts, argv, DNSM_MAX_ARGS, store, sizeof(store));
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len + 1);
	if (!s)
		return -1;
	len = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(argv[i]);
		memcpy(s + len, argv[i], l);
		s[len + l] = '\n';
		len += l + 1;
	}
	s[len] = '\0';
	*out = s;
	return 0;
}

static void on_exit_fd(struct ev_loop *loop, int fd, short revents, void *arg);
static void restart_cb(struct ev_loop *loop, void *arg);

/* fork() that also returns a pidfd for the child (clone's parent_tid argument
 * receives it: third on x86_64 and arm64). pidfd_open is outside net-router's
 * filter, so a pidfd only ever names a child of ours. */
static pid_t fork_pidfd(int *pidfd)
{
	return (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PIDFD | SIGCHLD), NULL, pidfd,
			      NULL, NULL);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* dnsmasq's stdout and stderr go to its log file, stdin is /dev/null. 0 or -1. */
static int open_stdio(struct dnsm *m, struct dnsm_proc *p, int *logfd, int *nullfd)
{
	char logp[400];

	snprintf(logp, sizeof(logp), "%s/dnsmasq-%u.log", m->logdir, p->vni);
	*logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (*logfd < 0) {
		log_errx("network %u: cannot open %s: %s", p->vni, logp, strerror(errno));
		return -1;
	}
	*nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (*nullfd < 0) {
		log_errx("network %u: cannot open /dev/null: %s", p->vni, strerror(errno));
		close(*logfd);
		return -1;
	}
	return 0;
}

/* In the child of fork(): async-signal-safe calls only. */
struct dnsm_child {
	pid_t parent;
	int nullfd, logfd, keep_raw;
	char **argv, **envp;
	const struct sock_fprog *filter;
};

static void exec_child(const struct dnsm_child *k) __attribute__((noreturn));
static void exec_child(const struct dnsm_child *k)
{
	sigset_t none;
	static const char failed[] = "pvcnoded: execve " DNSM_EXE " failed\n";
	static const char confine[] = "pvcnoded: cannot confine dnsmasq (seccomp or capabilities)\n";

	/* the worker ignores these and blocks nothing dnsmasq needs: defaults */
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* a dying net-router takes its dnsmasq along */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != k->parent)
		_exit(127);
	if (dup2(k->nullfd, 0) < 0 || dup2(k->logfd, 1) < 0 || dup2(k->logfd, 2) < 0)
		_exit(127);
	(void)syscall(SYS_close_range, 3, ~0U, 0);
	/* lowering an ambient capability needs no privilege; an unset one is no error */
	if ((!k->keep_raw && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_RAW, 0, 0) != 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, k->filter, 0, 0) != 0) {
		(void)!write(2, confine, sizeof(confine) - 1);
		_exit(127);
	}
	execve(DNSM_EXE, k->argv, k->envp);
	(void)!write(2, failed, sizeof(failed) - 1);
	_exit(127);
}

/* Supervise the new child `pid` through its pidfd in the loop. 0, or -1 after
 * killing it: its death would go unnoticed. */
static int watch(struct dnsm *m, struct dnsm_proc *p, pid_t pid, int pidfd)
{
	p->pid = pid;
	p->started_ms = mono_ms();
	p->pidfd = pidfd;
	if (ev_add_fd(m->loop, p->pidfd, POLLIN, on_exit_fd, m) != 0) {
		log_errx("network %u: cannot watch dnsmasq pid %d: %s", p->vni, (int)pid,
			 strerror(errno));
		(void)pidfd_signal(p->pidfd, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		close(p->pidfd);
		p->pidfd = -1;
		p->pid = 0;
		return -1;
	}
	return 0;
}

/* fork+execve. Only async-signal-safe calls between fork and execve. */
static int start(struct dnsm *m, struct dnsm_proc *p)
{
	static char store[8192];
	char *argv[DNSM_MAX_ARGS], hosts[320];
	char env_br[64], env_cfg[300], env_sock[360];
	char *envp[] = {env_br, env_cfg, env_sock, NULL};
	struct dnsm_child k = {.parent = getpid(), .argv = argv, .envp = envp,
			       .filter = &m->filter, .keep_raw = net_dnsmasq_args_needs_raw(&p->def)};
	int pidfd = -1;
	pid_t pid;

	snprintf(hosts, sizeof(hosts), "%s/%u", m->dir, p->vni);
	if (net_dnsmasq_args_build(&p->def, m->helper, hosts, argv, DNSM_MAX_ARGS, store,
				   sizeof(store)) < 0) {
		log_errx("network %u: dnsmasq arguments too long", p->vni);
		return -1;
	}
	/* built once, before any fork: the child only hands it to the kernel */
	if (m->filter.filter == NULL && net_seccomp_dnsmasq_prog(&m->filter) != 0) {
		log_errx("network %u: dnsmasq not started: its seccomp filter cannot be built", p->vni);
		return -1;
	}
	(void)net_dnsmasq_files_write_hosts(m, p);
	snprintf(env_br, sizeof(env_br), "DNSMASQ_BRIDGE_INTERFACE=vmbr%u", p->vni);
	snprintf(env_cfg, sizeof(env_cfg), "PVCD_CONFIG_FILE=%s", m->cfg->config_path);
	snprintf(env_sock, sizeof(env_sock), "PVC_LEASE_SOCKET=%s", m->sock);
	if (open_stdio(m, p, &k.logfd, &k.nullfd) != 0)
		return -1;
	pid = fork_pidfd(&pidfd);
	if (pid < 0) {
		log_errx("network %u: cannot fork dnsmasq: %s", p->vni, strerror(errno));
		close(k.logfd);
		close(k.nullfd);
		return -1;
	}
	if (pid == 0)
		exec_child(&k);
	close(k.logfd);
	close(k.nullfd);
	if (watch(m, p, pid, pidfd) != 0)
		return -1;
	net_dnsmasq_files_pidfile(m, p->vni, pid);
	log_info("network %u: dnsmasq started (pid %d%s)", p->vni, (int)pid,
		 k.keep_raw ? ", CAP_NET_RAW kept for router advertisements" : "");
	return 0;
}

static void describe(int st, char *buf, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(buf, cap, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		snprintf(buf, cap, "killed by SIGSYS (a syscall outside net-router's seccomp filter)");
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, cap, "ended (status 0x%x)", (unsigned)st);
}

static void forget(struct dnsm *m, struct dnsm_proc *p)
{
	if (p->pidfd >= 0) {
		ev_del_fd(m->loop, p->pidfd);
		close(p->pidfd);
	}
	p->pidfd = -1;
	p->pid = 0;
	net_dnsmasq_files_pidfile(m, p->vni, 0);
}

static void on_exit_fd(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct dnsm *m = arg;
	char how[128];
	int st = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct dnsm_proc *p = m->v[i];
		uint64_t ran;
		pid_t r;

		if (p->pidfd != fd)
			continue;
		r = waitpid(p->pid, &st, WNOHANG);
		if (r == 0)
			return; /* spurious */
		describe(st, how, sizeof(how));
		ran = mono_ms() - p->started_ms;
		forget(m, p);
		if (!p->wanted)
			return;
		if (ran >= DNSM_HEALTHY_MS || p->backoff_ms == 0)
			p->backoff_ms = DNSM_BACKOFF_MIN_MS;
		else if (p->backoff_ms < DNSM_BACKOFF_MAX_MS)
			p->backoff_ms = p->backoff_ms * 2 > DNSM_BACKOFF_MAX_MS ? DNSM_BACKOFF_MAX_MS
										: p->backoff_ms * 2;
		log_errx("network %u: dnsmasq %s after %llu ms: restarting in %d ms (see %s/dnsmasq-%u.log)",
			 p->vni, how, (unsigned long long)ran, p->backoff_ms, m->logdir, p->vni);
		p->restart_timer = ev_timer(m->loop, (uint64_t)p->backoff_ms, restart_cb, p);
		return;
	}
	ev_del_fd(loop, fd); /* not ours any more */
}

static void restart_cb(struct ev_loop *loop, void *arg)
{
	struct dnsm_proc *p = arg;

	(void)loop;
	p->restart_timer = 0;
	if (p->wanted && p->pid == 0 && start(p->m, p) != 0) {
		p->backoff_ms = DNSM_BACKOFF_MAX_MS;
		p->restart_timer = ev_timer(p->m->loop, (uint64_t)p->backoff_ms, restart_cb, p);
	}
}

/* SIGTERM to each of `ps`, wait for all together up to DNSM_STOP_MS, SIGKILL the
 * rest; every one is reaped. */
static void stop_procs(struct dnsm *m, struct dnsm_proc **ps, size_t n)
{
	uint64_t deadline = mono_ms() + DNSM_STOP_MS;
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		struct dnsm_proc *p = ps[i];
		p->wanted = 0;
		if (p->restart_timer)
			ev_timer_cancel(m->loop, p->restart_timer);
		p->restart_timer = 0;
		if (p->pid == 0)
			continue;
		if (pidfd_signal(p->pidfd, SIGTERM) != 0 && errno != ESRCH)
			log_warnx("network %u: SIGTERM to dnsmasq pid %d: %s", p->vni, (int)p->pid,
				  strerror(errno));
		left++;
	}
	while (left) {
		struct pollfd pf[64];
		size_t k = 0;
		uint64_t now = mono_ms();

		for (size_t i = 0; i < n && k < 64; i++)
			if (ps[i]->pid)
				pf[k++] = (struct pollfd){.fd = ps[i]->pidfd, .events = POLLIN};
		if (now >= deadline)
			break;
		if (poll(pf, k, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < n; i++) {
			if (ps[i]->pid && waitpid(ps[i]->pid, NULL, WNOHANG) == ps[i]->pid) {
				forget(m, ps[i]);
				left--;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct dnsm_proc *p = ps[i];
		if (p->pid == 0)
			continue;
		log_warnx("network %u: dnsmasq pid %d ignored SIGTERM for %d ms: SIGKILL", p->vni,
			  (int)p->pid, DNSM_STOP_MS);
		(void)pidfd_signal(p->pidfd, SIGKILL);
		(void)waitpid(p->pid, NULL, 0);
		forget(m, p);
	}
}

static void drop(struct dnsm *m, size_t i)
{
	struct dnsm_proc *p = m->v[i];

	free(p->def.res);
	free(p->sig);
	free(p);
	m->v[i] = m->v[--m->n];
}

/* Stop every dnsmasq that is no longer wanted or whose arguments changed, and
 * forget them. 0 or -1 (out of memory, logged). */
static int stop_unwanted(struct dnsm *m, const struct netdef *defs, size_t n, int primary)
{
	struct dnsm_proc **stop = NULL;
	size_t nstop = 0, i;

	if (m->n) {
		stop = calloc(m->n, sizeof(*stop));
		if (!stop) {
			log_errx("dnsmasq: out of memory");
			return -1;
		}
	}
	for (i = 0; i < m->n; i++) {
		struct dnsm_proc *p = m->v[i];
		const struct netdef *d = NULL;
		char *sig = NULL;

		for (size_t j = 0; j < n && !d; j++)
			if (defs[j].vni == p->vni && defs[j].managed)
				d = &defs[j];
		if (primary && d && sig_of(m, d, &sig) == 0 && strcmp(sig, p->sig) == 0) {
			free(sig);
			continue;
		}
		free(sig);
		if (d && primary)
			log_info("network %u: dnsmasq arguments changed: restarting it", p->vni);
		stop[nstop++] = p;
	}
	if (nstop)
		stop_procs(m, stop, nstop);
	free(stop);
	for (i = 0; i < m->n;) {
		if (!m->v[i]->wanted)
			drop(m, i);
		else
			i++;
	}
	return 0;
}

/* A new dnsmasq for `d`, started (or its restart scheduled). 0 or -1 (out of
 * memory: logged, nothing more can be added now). */
static int add_proc(struct dnsm *m, const struct netdef *d)
{
	struct dnsm_proc *p;

	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 16;
		struct dnsm_proc **nv = realloc(m->v, nc * sizeof(*nv));
		if (!nv) {
			log_errx("dnsmasq: out of memory");
			return -1;
		}
		m->v = nv;
		m->cap = nc;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		log_errx("dnsmasq: out of memory");
		return -1;
	}
	p->m = m;
	p->vni = d->vni;
	p->pidfd = -1;
	p->wanted = 1;
	def_copy(&p->def, d);
	if (sig_of(m, d, &p->sig) != 0) {
		log_errx("network %u: dnsmasq arguments too long", p->vni);
		free(p->def.res);
		free(p);
		return 0;
	}
	m->v[m->n++] = p;
	if (start(m, p) != 0) {
		p->backoff_ms = DNSM_BACKOFF_MIN_MS;
		p->restart_timer = ev_timer(m->loop, (uint64_t)p->backoff_ms, restart_cb, p);
	}
	return 0;
}

void net_dnsmasq_apply(struct dnsm *m, const struct netdef *defs, size_t n, int primary)
{
	if (stop_unwanted(m, defs, n, primary) != 0 || !primary)
		return;
	for (size_t i = 0; i < n; i++) {
		struct dnsm_proc *p;

		if (!defs[i].managed)
			continue;
		p = find(m, defs[i].vni);
		if (!p) {
			if (add_proc(m, &defs[i]) != 0)
				return;
			continue;
		}
		/* running with the same arguments: reservations in place */
		free(p->def.res);
		def_copy(&p->def, &defs[i]);
		if (net_dnsmasq_files_write_hosts(m, p) && p->pid &&
		    pidfd_signal(p->pidfd, SIGHUP) != 0)
			log_warnx("network %u: SIGHUP to dnsmasq: %s", p->vni, strerror(errno));
	}
}

void net_dnsmasq_stop_all(struct dnsm *m)
{
	if (m->n)
		stop_procs(m, m->v, m->n);
	while (m->n)
		drop(m, 0);
}

void net_dnsmasq_list(const struct dnsm *m, char *buf, size_t cap)
{
	size_t used = 0;

	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		int r = snprintf(buf + used, cap - used, "%s%u:%d", i ? "," : "", m->v[i]->vni,
				 (int)m->v[i]->pid);
		if (r < 0 || (size_t)r >= cap - used)
			break;
		used += (size_t)r;
	}
}

size_t net_dnsmasq_running(const struct dnsm *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n; i++)
		k += m->v[i]->pid != 0;
	return k;
}
