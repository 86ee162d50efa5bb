/*
 * pdns.c: pdns_server, the aggregator's DNS server, run as a child of the
 * dns-aggregator worker on the primary only (DNSAggregatorInstance.PowerDNSInstance
 * in the reference). Differences from the reference, each for a measured reason
 * (environment.md): --default-soa-content (Debian 12's PowerDNS 4.7 refuses the
 * reference's --default-soa-name), --zone-cache-refresh-interval=0 (otherwise a
 * zone added while pdns runs is REFUSED for up to 300 s), --guardian=no (we are
 * the guardian), and the settings in <dynamic>/pdns/pdns.conf (0600) instead of
 * the command line, where the database password would be visible to every user in
 * /proc/PID/cmdline.
 *
 * Privileges: the child inherits the worker's user, seccomp filter and Landlock
 * domain. CAP_NET_BIND_SERVICE, the worker's only capability, is ambient, so
 * pdns_server can bind port 53 on the floating addresses; it has nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns_int.h"
#include "log.h"

#define DNS_PDNS_BIN "/usr/sbin/pdns_server"
#define DNS_PDNS_STOP_MS 500 /* it keeps no state: the database has it all */

static long long pdns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dns_pdns_sockdir(const struct pvc_config *cfg, char *out, size_t cap)
{
	snprintf(out, cap, "%s/pdns", cfg->dynamic_directory);
}

static void bare_addr(const struct cfg_addr *a, char *out, size_t cap)
{
	snprintf(out, cap, "%s", a->set ? a->text : "");
	out[strcspn(out, "/")] = '\0';
}

/* pdns.conf: the listen addresses as the reference (the cluster and upstream
 * floating addresses), the database, and the traps above. server-id is the node
 * name (`dig id.server CH TXT` says which coordinator answered). */
static int pdns_write_conf(const struct pvc_config *cfg, const char *dir)
{
	char path[CFG_PATH_MAX + 32], tmp[CFG_PATH_MAX + 40], cl[64], up[64];

	snprintf(path, sizeof path, "%s/pdns.conf", dir);
	snprintf(tmp, sizeof tmp, "%s/pdns.conf.new", dir);
	bare_addr(&cfg->cluster.floating_ip, cl, sizeof cl);
	bare_addr(&cfg->upstream.floating_ip, up, sizeof up);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		log_warn("pdns: cannot write %s", tmp);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "daemon=no\nguardian=no\ndisable-syslog=yes\nloglevel=4\n"
		"log-dns-details=no\nversion-string=powerdns\nserver-id=%s\n"
		"disable-axfr=no\nallow-axfr-ips=0.0.0.0/0,::/0\n"
		"local-address=%s%s%s\nlocal-port=53\n"
		"default-soa-content=dns.pvc.local. hostmaster.@ 0 10800 3600 604800 3600\n"
		"zone-cache-refresh-interval=0\nsocket-dir=%s\n"
		"launch=gpgsql\ngpgsql-host=%s\ngpgsql-port=%d\ngpgsql-dbname=%s\n"
		"gpgsql-user=%s\ngpgsql-password=%s\ngpgsql-dnssec=no\n",
		cfg->node_name, cl, cl[0] && up[0] ? "," : "", up, dir, cfg->dns_db.host, cfg->dns_db.port,
		cfg->dns_db.name, cfg->dns_db.user, cfg->dns_db.pass);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		log_warn("pdns: cannot write %s", path);
		return -1;
	}
	return 0;
}

/* The forked child: async-signal-safe calls only, then pdns_server. */
static _Noreturn void pdns_child(char *const argv[], char *const envp[])
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE};
	sigset_t none;

	/* a worker killed (as hung, or crashed) takes its pdns along: the next one
	 * must be able to bind port 53 again */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		_exit(126);
	/* the worker ignores these, and an ignored signal stays ignored across execve:
	 * pdns_server would shrug off dns_pdns_stop()'s SIGTERM and be SIGKILLed */
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (signal(sigs[i], SIG_DFL) == SIG_ERR)
			_exit(126);
	if (sigemptyset(&none) != 0 || sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		_exit(126);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0)
		_exit(126);
	/* none of the worker's descriptors (its supervisor channel, the database and
	 * AXFR sockets) goes to pdns_server; 1 and 2 stay the worker's log */
	if (syscall(SYS_close_range, 3, ~0U, 0) != 0)
		for (int fd = 3; fd < 65536; fd++)
			(void)close(fd);
	execve(DNS_PDNS_BIN, argv, envp);
	_exit(127);
}

int dns_pdns_start(struct dns_pdns *p, const struct pvc_config *cfg)
{
	char dir[CFG_PATH_MAX + 16], cdir[CFG_PATH_MAX + 32];

	if (p->pid > 0)
		return 0;
	dns_pdns_sockdir(cfg, dir, sizeof dir);
	if (pdns_write_conf(cfg, dir) != 0)
		return -1;
	snprintf(cdir, sizeof cdir, "--config-dir=%s", dir);
	char *const argv[] = {"pdns_server", cdir, NULL};
	char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("pdns: fork");
		return -1;
	}
	if (pid == 0)
		pdns_child(argv, envp);
	p->pid = pid;
	p->started_ms = pdns_now_ms();
	log_info("pdns: started PowerDNS zone aggregator (pid %d)", (int)pid);
	return 0;
}

static void pdns_describe(int st, char *out, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(out, cap, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(out, cap, "signal %d%s", WTERMSIG(st),
			 WTERMSIG(st) == SIGSYS ? " (killed by the seccomp filter)" : "");
	else
		snprintf(out, cap, "status 0x%x", st);
}

int dns_pdns_reap(struct dns_pdns *p, long long *ran_ms)
{
	int st;

	if (p->pid <= 0)
		return 0;
	pid_t r = waitpid(p->pid, &st, WNOHANG);
	if (r != p->pid)
		return 0;
	char how[64];
	pdns_describe(st, how, sizeof how);
	*ran_ms = pdns_now_ms() - p->started_ms;
	log_warnx("pdns: PowerDNS (pid %d) exited after %lld ms: %s", (int)p->pid, *ran_ms, how);
	p->pid = 0;
	return 1;
}

void dns_pdns_stop(struct dns_pdns *p)
{
	int st;

	if (p->pid <= 0)
		return;
	long long deadline = pdns_now_ms() + DNS_PDNS_STOP_MS;
	if (kill(p->pid, SIGTERM) != 0 && errno != ESRCH)
		log_warn("pdns: SIGTERM to %d", (int)p->pid);
	while (pdns_now_ms() < deadline) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid || (r < 0 && errno == ECHILD)) {
			log_info("pdns: stopped PowerDNS zone aggregator");
			p->pid = 0;
			return;
		}
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
	log_warnx("pdns: PowerDNS (pid %d) still running after %d ms: SIGKILL", (int)p->pid,
		  DNS_PDNS_STOP_MS);
	if (kill(p->pid, SIGKILL) != 0 && errno != ESRCH)
		log_warn("pdns: SIGKILL to %d", (int)p->pid);
	if (waitpid(p->pid, &st, 0) < 0 && errno != ECHILD)
		log_warn("pdns: waiting for %d", (int)p->pid);
	p->pid = 0;
}
