/*
 * net_dnsmasq.h: one dnsmasq per managed network while this node is primary
 * (ref §7.5, §7.6), started by fork+execve from net-router and supervised by
 * pidfd in the event loop.
 */
#ifndef NET_DNSMASQ_H
#define NET_DNSMASQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/filter.h>

#include "config.h"
#include "evloop.h"
#include "netdef.h"

#define DNSM_EXE "/usr/sbin/dnsmasq"
#define DNSM_MAX_ARGS 64
#define DNSM_STOP_MS 1000      /* SIGTERM, then SIGKILL after this */
#define DNSM_BACKOFF_MIN_MS 500
#define DNSM_BACKOFF_MAX_MS 30000
#define DNSM_HEALTHY_MS 30000  /* ran this long: the next death restarts at once */

struct dnsm;

struct dnsm_proc {
	struct dnsm *m;
	uint32_t vni;
	pid_t pid;     /* 0: not running */
	int pidfd;
	char *sig;     /* its arguments and environment, joined: a change restarts it */
	struct netdef def; /* copy of what it serves (reservations, restart) */
	uint64_t restart_timer;
	int backoff_ms;
	uint64_t started_ms;
	int wanted;
};

struct dnsm {
	struct ev_loop *loop;
	const struct pvc_config *cfg;
	char helper[300];  /* the lease helper, next to the daemon's binary */
	char dir[300];     /* <dynamic_directory>/dnsmasq */
	char logdir[300];  /* <log_directory>/dnsmasq */
	char sock[320];    /* <dir>/lease.sock */
	struct sock_fprog filter; /* dnsmasq's stacked seccomp filter, built at first start */
	struct dnsm_proc **v; /* each its own allocation: timers point at them */
	size_t n, cap;
};

/* Arguments of network `d`'s dnsmasq (ref §7.6 order, plus --interface,
 * --except-interface and --pid-file= for several instances on one host), into
 * argv (NULL-terminated) with the strings in store. Pure (unit-tested).
 * Returns argc or -1 if it does not fit. */
int net_dnsmasq_args_build(const struct netdef *d, const char *helper, const char *hostsdir,
			   char **argv, size_t maxargs, char *store, size_t storecap);
/* 1 if network `d`'s dnsmasq needs CAP_NET_RAW: router advertisements (--enable-ra,
 * given with DHCPv6) go out on a raw ICMPv6 socket. The other networks' dnsmasq
 * gets --no-ping (its ICMP probe before an IPv4 offer is the only other use, and
 * without the option dnsmasq refuses to start without CAP_NET_RAW). */
int net_dnsmasq_args_needs_raw(const struct netdef *d);
/* Content of the reservation file of `r` ("<mac>,<ip>[,<hostname>]"). */
void net_dnsmasq_args_host_line(const struct netdef_res *r, char *buf, size_t cap);

/* Before confinement (root): create the directories for `user`, stop leftover
 * dnsmasq of a previous net-router found by their PID files, resolve the helper. */
int net_dnsmasq_files_init(struct dnsm *m, struct ev_loop *loop, const struct pvc_config *cfg,
			   const char *user);
/* Converge: while `primary`, one dnsmasq per managed network of defs (restarted
 * when its arguments change, reservations rewritten in place); otherwise none. */
void net_dnsmasq_apply(struct dnsm *m, const struct netdef *defs, size_t n, int primary);
/* Stop every dnsmasq (relinquish, shutdown): SIGTERM all, SIGKILL after 1 s. */
void net_dnsmasq_stop_all(struct dnsm *m);
/* ---- internal (dnsmasq_files.c) ---- */
/* Write (pid > 0) or remove (0) <dir>/dnsmasq-<vni>.pid. */
void net_dnsmasq_files_pidfile(struct dnsm *m, uint32_t vni, pid_t pid);
/* Regenerate p's hosts directory; 1 if a file was removed (dnsmasq needs SIGHUP). */
int net_dnsmasq_files_write_hosts(struct dnsm *m, const struct dnsm_proc *p);

/* "1001:<pid>,1002:<pid>" (0 for one waiting for its restart) */
void net_dnsmasq_list(const struct dnsm *m, char *buf, size_t cap);
size_t net_dnsmasq_running(const struct dnsm *m);

#endif
