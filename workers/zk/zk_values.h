/*
 * zk_values.h: pure validators and parsers for values read from ZooKeeper or
 * received over IPC (untrusted). No I/O, no global state: unit-tested and fuzzed.
 * Every function accepts any NUL-terminated string (including non-UTF-8 bytes).
 */
#ifndef ZK_VALUES_H
#define ZK_VALUES_H

#include <stddef.h>
#include <stdint.h>

/* /nodes/<n>/daemonstate: init run shutdown stop dead */
int zk_values_daemonstate(const char *s);
/* /nodes/<n>/routerstate: client secondary takeover primary relinquish */
int zk_values_routerstate(const char *s);
/* /nodes/<n>/domainstate: ready flush flushed unflush */
int zk_values_domainstate(const char *s);
/* /domains/<uuid>/state, ref §5.2 (including the reference's bogus `stopped`) */
int zk_values_vmstate(const char *s);
/* /domains/<uuid>/node_selector: mem load vcpus vms None */
int zk_values_selector(const char *s);
/* Python str(bool) spelling, exactly `True` or `False` */
int zk_values_pybool(const char *s);
/* /primary_node: a valid node name or `none` */
int zk_values_primary(const char *s);
/* Node name (ref §0.1; the rule of valid_node_name() in util.c, except that
 * `none` passes here: /primary_node's marker is checked by the callers). */
int zk_values_node_name(const char *s);
/* empty, or a node name */
int zk_values_opt_node_name(const char *s);
/* canonical lower-case UUID 8-4-4-4-12 */
int zk_values_uuid(const char *s);
/* space-separated UUIDs (runningdomains), possibly empty; single spaces only */
int zk_values_uuid_list(const char *s);
/* comma-separated node names (node_limit), possibly empty */
int zk_values_node_list(const char *s);

/* strtobool semantics for /maintenance: 1 true, 0 false or anything else. */
int zk_values_strtobool(const char *s);
/* Decimal integer in [min,max], whole string, no blanks: 0 ok / -1. */
int zk_values_int(const char *s, long long min, long long max, long long *out);
/* A finite decimal float (cpuload as read back): 0 ok / -1. */
int zk_values_float(const char *s, double *out);
/* Python repr/str(float) of a finite double into buf ("0.0", "0.52", "1e-05",
 * "1e+16"); returns 0, or -1 if buf is too small or v is not finite. */
int zk_values_pyfloat(double v, char *buf, size_t size);

/* A kazoo lock contender name `<32 hex><marker><10 digits>`; marker is "__lock__"
 * or "__rlock__". Returns 1 for lock, 2 for rlock, 0 if not a contender; *seq gets
 * the sequence number. */
int zk_values_contender(const char *name, uint32_t *seq);

/* A ZooKeeper path we are willing to pass on: absolute, no empty/./.. component,
 * no trailing slash, printable ASCII except space, at most 1000 bytes. */
int zk_values_path(const char *s);

/*
 * The request API's path policy (DESIGN §2.2; the table is policy_zk_rules in
 * lib/policy.c). `role` is the requester's enum pvc_role value; `self` is this
 * node's name. zk_values_policy_write checks op ("set", "setv:<n>", "create",
 * "delete"), path and value; *version gets the expected version (-1 unless setv).
 * 1 allowed, 0 not.
 */
int zk_values_policy_read(int role, const char *path);
int zk_values_policy_write(int role, const char *self, const char *op, const char *path,
			   const char *value, int *version);

/* Parse /proc/meminfo text into MiB figures as psutil computes them (ref §4.2). */
struct zk_values_mem {
	uint64_t total_mib, used_mib, free_mib;
};
int zk_values_meminfo(const char *text, struct zk_values_mem *out);
/* First field of /proc/loadavg. */
int zk_values_loadavg(const char *text, double *out);

/* A printable excerpt of an untrusted value for log lines: at most ~48 characters,
 * non-printable bytes as \xNN, "..." when cut, "(empty)" for none. */
const char *zk_values_excerpt(const char *value, int len, char *out, size_t outlen);

#endif
