/*
 * pvc.h: roles, exit codes and small helpers shared by every process of pvcnoded.
 */
#ifndef PVC_H
#define PVC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PVC_VERSION "0.7-c1"

/* Process roles. The numeric value travels in every IPC header. */
enum pvc_role {
	ROLE_SUPERVISOR = 0,
	ROLE_ZK = 1,    /* zk-election */
	ROLE_VM = 2,    /* vm-manager */
	ROLE_NET = 3,   /* net-router */
	ROLE_FLUSH = 4, /* flush */
	ROLE_FENCE = 5, /* fence: runs ipmitool for zk-election, holds no ZooKeeper session */
	/* The primary's services: zk-election tells them when this node is primary
	 * (MSG_SVC_PRIMARY); each runs only where its function is enabled
	 * (supervisor/wanted.c). */
	ROLE_API = 6,   /* api-units: the API units and the Patroni leader follow the primary */
	ROLE_DNS = 7,   /* dns-aggregator: PowerDNS + the client networks' zones */
	ROLE_META = 8,  /* metadata: the cloud-init metadata API at 169.254.169.254 */
	ROLE_CEPH = 9,  /* ceph: storage statistics and commands (every storage node) */
	ROLE_CTL = 10,  /* pvcctl over the control socket (not a worker) */
	ROLE_COUNT = 11
};
#define WORKER_FIRST ROLE_ZK
#define WORKER_LAST ROLE_CEPH

/* Exit statuses of the supervisor (documented in README and the unit file). */
#define PVC_EXIT_OK 0
#define PVC_EXIT_FATAL 1      /* runtime failure at start (ZooKeeper unreachable ...) */
#define PVC_EXIT_ESCALATED 3  /* a worker crash-looped: orderly stop, systemd restarts */
#define PVC_EXIT_CONFIG 78    /* EX_CONFIG: bad configuration, systemd must not restart */

/* Exit status of a worker that cannot run with this configuration/privilege:
 * the supervisor treats it as permanent and escalates at once. */
#define PVC_WORKER_EXIT_PERMANENT 78

/* The fd on which a worker program finds its socketpair to the supervisor. */
#define PVC_WORKER_FD 3

const char *role_name(enum pvc_role role);
int role_from_name(const char *name); /* -1 if unknown */
const char *role_program(enum pvc_role role); /* "pvc-zk-election", ... */

/* util.c */
uint64_t mono_ms(void);           /* CLOCK_MONOTONIC in ms (system-wide, comparable across processes) */
uint64_t wall_ms(void);           /* CLOCK_REALTIME in ms */
int set_nonblock(int fd);
int set_cloexec(int fd);
size_t strlcpy_pvc(char *dst, const char *src, size_t size);
/* Parse a base-10 integer in [min,max] from the whole string; 0 on success, -1 otherwise. */
int parse_ll(const char *s, long long min, long long max, long long *out);
/* Validate a PVC node name: 1..63 chars of [A-Za-z0-9-_.], not starting with '.' or '-'. */
int valid_node_name(const char *s);
/* Validate a canonical lower-case UUID 8-4-4-4-12. */
int valid_uuid(const char *s);
/* Read a whole small file (e.g. /proc/meminfo) into buf; returns length or -1. */
ssize_t read_small_file(const char *path, char *buf, size_t size);

#endif
