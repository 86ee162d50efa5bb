/*
 * sandbox.h: building blocks for the seccomp allow-lists of the roles, beyond
 * sandbox_rules_common() (worker.h). Each takes the libseccomp context that
 * sandbox_enter() hands to the role's seccomp_rules function and returns 0, or -1
 * after logging which rule could not be added.
 *
 * Not every role needs these: they exist so that the roles share one audited
 * version of the rules that need argument filters.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdint.h>

struct scmp_arg_cmp;

/* The files a name lookup reads (getaddrinfo through NSS, glibc's resolver, the
 * loader cache for an NSS module that nsswitch.conf names), for a worker's Landlock
 * read list when it needs host names but nothing else of /etc (not /etc/passwd, not
 * the daemon's own configuration in /etc/pvc). Missing files are skipped. */
#define SANDBOX_RESOLVER_FILES                                                          \
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf",      \
	"/etc/gai.conf", "/etc/services", "/etc/ld.so.cache"

/* One entry of an allow-list: a syscall allowed whatever its arguments, and its name
 * for the log. Build tables with SANDBOX_SYS (needs <seccomp.h>) and end them with
 * SANDBOX_SYS_END: a syscall unknown on this architecture has a negative number, so
 * the end is marked by the name. */
struct sandbox_sys {
	int nr;
	const char *name;
};
#define SANDBOX_SYS(sys) {SCMP_SYS(sys), #sys}
#define SANDBOX_SYS_END {0, NULL}

/* Allow every syscall of `table`. 0, or -1 after logging the name of the syscall
 * whose rule could not be added. */
int sandbox_allow_list(void *scmp_ctx, const struct sandbox_sys *table);

/* One rule with an action and n argument filters (n = 0, cmp = NULL: none), `name`
 * only for the log. 0, or -1 after logging. */
int sandbox_add_rule(void *scmp_ctx, uint32_t action, int nr, const char *name, unsigned n,
		     const struct scmp_arg_cmp *cmp);

/* pthread_create() and what new threads do: clone only with CLONE_THREAD (never a
 * new process), clone3 answered ENOSYS so that glibc falls back to clone,
 * set_robust_list, rseq, sched_getaffinity. */
int sandbox_rules_threads(void *scmp_ctx);

/* open()/openat() for reading only: O_WRONLY, O_RDWR, O_CREAT and O_TRUNC are
 * outside the allow-list (the process is killed). Landlock decides which paths. */
int sandbox_rules_files_ro(void *scmp_ctx);

/* A TCP/UDP client: socket() for AF_INET and AF_INET6 only (AF_UNIX fails with
 * EACCES so that glibc's nscd probe falls back; every other family kills),
 * connect, socket options and names, shutdown, sendmmsg (resolver). */
int sandbox_rules_tcp_client(void *scmp_ctx);

/* kill(-pgid, SIGKILL) for pgid in 2..2^22-1 and nothing else of kill beyond the
 * common rules: what cmdrun.c does to a command's process group at its deadline. */
int sandbox_rules_kill_group(void *scmp_ctx);

/* RLIMIT_NPROC = 0 for roles that neither fork nor create threads (NPROC counts
 * threads too, so a threaded role must not call this). 0 or -1 (logged). */
int sandbox_limit_nproc(void);

/* Internal to workers/common/sandbox*.c: build and load the filter (default action: kill
 * the process; in test builds with PVC_SECCOMP_LOG=1, trap and print the syscall
 * number first). */
int sandbox_seccomp_load(int (*role_rules)(void *scmp_ctx));

#endif
