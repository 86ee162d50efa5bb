/*
 * dns_int.h: the dns-aggregator's files (workers/dns/): dns.c (the worker: IPC,
 * primary state, timers), pdns.c (the pdns_server child), db.c (the PowerDNS
 * tables in PostgreSQL through libpq), axfr.c/axfr_net.c (dns_axfr.h).
 */
#ifndef DNS_INT_H
#define DNS_INT_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "dns_axfr.h"

/* A managed client network as the aggregator needs it. */
struct dns_net {
	unsigned vni;
	char domain[DNS_NAME_MAX]; /* lower-case, no trailing dot */
	char server[64];           /* the gateway dnsmasq listens on (IPv4, else IPv6) */
	char ns[256];              /* comma list of name servers, may be empty */
	char axfr_err[320];        /* the last transfer error logged ("" after a success) */
};

/* db.c */
struct dns_db;
struct dns_db *dns_db_new(const struct pvc_config *cfg);
void dns_db_free(struct dns_db *d);
/* The calls from now on end within budget_ms (one step of a round, under the
 * supervisor's hang timeout); one past it fails and drops the connection. */
void dns_db_deadline(struct dns_db *d, int budget_ms);
/* Connect if not connected and make sure the schema exists: 0 or -1 (logged by
 * the caller from dns_db_error). */
int dns_db_ready(struct dns_db *d);
const char *dns_db_error(const struct dns_db *d);
/* Drop the connection (after an error): the next dns_db_ready reconnects. */
void dns_db_reset(struct dns_db *d);
/* The zone's domain row with its SOA and NS records, created if missing. */
int dns_db_zone_ensure(struct dns_db *d, const struct dns_net *n, const char *upstream_domain);
/* Replace the zone's records (all but SOA and NS) with z's, in one transaction,
 * bumping the SOA serial when anything changed. *changed says whether it did. */
int dns_db_zone_sync(struct dns_db *d, const char *domain, const struct dns_zone *z,
		     int *changed);
/* Delete the zones we created (account 'internal') whose domain is not in nets. */
int dns_db_zones_prune(struct dns_db *d, const struct dns_net *nets, size_t n);

/* pdns.c */
struct dns_pdns {
	pid_t pid;
	long long started_ms;
};
int dns_pdns_start(struct dns_pdns *p, const struct pvc_config *cfg);
/* SIGTERM, wait up to DNS_PDNS_STOP_MS, then SIGKILL. */
void dns_pdns_stop(struct dns_pdns *p);
/* Reap an exited pdns; 1 when it is gone (*ran_ms: how long it ran). */
int dns_pdns_reap(struct dns_pdns *p, long long *ran_ms);
/* The pdns socket directory, <dynamic_directory>/pdns (created by the supervisor). */
void dns_pdns_sockdir(const struct pvc_config *cfg, char *out, size_t cap);

/* seccomp.c */
int dns_seccomp_rules(void *scmp_ctx);

#endif
