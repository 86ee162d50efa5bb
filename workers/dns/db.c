/*
 * db.c: the PowerDNS generic PostgreSQL tables (domains, records) kept in step with
 * the managed client networks, as the reference's DNSNetworkInstance and
 * AXFRDaemonInstance do: one domain row per network domain (type NATIVE, account
 * 'internal') with an SOA and NS records, and the records transferred from the
 * network's dnsmasq. Every change of a zone is one transaction: PowerDNS never
 * sees a zone half updated.
 *
 * No call waits past the step's deadline (dns_db_deadline, set by dns.c before each
 * step of a round): libpq is driven without blocking (PQconnectStart/PQconnectPoll,
 * PQsendQuery*) and the socket polled until that deadline. Server-side limits
 * (statement_timeout) and TCP ones (tcp_user_timeout, keepalives) do not cover a
 * server that is alive but stopped (kill -STOP, a hung host with a live kernel):
 * its kernel accepts and acknowledges, nothing answers. A step that runs past its
 * deadline drops the connection; the worker keeps answering the supervisor.
 * (Resolving a host name, in PQconnectStart, is the one wait left unbounded.)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dns_int.h"
#include "log.h"
#include "pvc.h"

#define DNS_SCHEMA "/usr/share/pdns-backend-pgsql/schema/schema.pgsql.sql"
#define DNS_SCHEMA_MAX (1 << 20)

struct dns_db {
	char conninfo[1024];
	PGconn *c;
	char err[512];
	uint64_t deadline; /* mono_ms() by which the current step's calls end */
	int budget_ms;
};

void dns_db_deadline(struct dns_db *d, int budget_ms)
{
	d->budget_ms = budget_ms;
	d->deadline = mono_ms() + (uint64_t)budget_ms;
}

static void conninfo_add(char *out, size_t cap, const char *key, const char *val)
{
	size_t o = strlen(out);

	/* libpq quoting: single quotes, backslash escapes */
	o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s='", o ? " " : "", key);
	for (const char *p = val; *p && o + 3 < cap; p++) {
		if (*p == '\'' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	if (o + 2 < cap) {
		out[o++] = '\'';
		out[o] = '\0';
	}
}

struct dns_db *dns_db_new(const struct pvc_config *cfg)
{
	struct dns_db *d = calloc(1, sizeof *d);
	char port[16];

	if (d == NULL)
		return NULL;
	snprintf(port, sizeof port, "%d", cfg->dns_db.port);
	conninfo_add(d->conninfo, sizeof d->conninfo, "host", cfg->dns_db.host);
	conninfo_add(d->conninfo, sizeof d->conninfo, "port", port);
	conninfo_add(d->conninfo, sizeof d->conninfo, "dbname", cfg->dns_db.name);
	conninfo_add(d->conninfo, sizeof d->conninfo, "user", cfg->dns_db.user);
	conninfo_add(d->conninfo, sizeof d->conninfo, "password", cfg->dns_db.pass);
	/* Every call bounded well under the supervisor's hang timeout (3.2 s): connect
	 * (libpq's minimum, 2 s), a statement (1.5 s on the server), unacknowledged data
	 * or a silent peer (tcp_user_timeout, keepalives: ~2 s) */
	conninfo_add(d->conninfo, sizeof d->conninfo, "connect_timeout", "2");
	conninfo_add(d->conninfo, sizeof d->conninfo, "tcp_user_timeout", "1500");
	conninfo_add(d->conninfo, sizeof d->conninfo, "keepalives", "1");
	conninfo_add(d->conninfo, sizeof d->conninfo, "keepalives_idle", "1");
	conninfo_add(d->conninfo, sizeof d->conninfo, "keepalives_interval", "1");
	conninfo_add(d->conninfo, sizeof d->conninfo, "keepalives_count", "1");
	conninfo_add(d->conninfo, sizeof d->conninfo, "options", "-c statement_timeout=1500");
	/* TLS when the server offers it (Debian's default); no Kerberos probe: the
	 * database uses a password */
	conninfo_add(d->conninfo, sizeof d->conninfo, "sslmode", "prefer");
	conninfo_add(d->conninfo, sizeof d->conninfo, "gssencmode", "disable");
	conninfo_add(d->conninfo, sizeof d->conninfo, "application_name", "pvc-dns-aggregator");
	return d;
}

void dns_db_reset(struct dns_db *d)
{
	if (d->c != NULL)
		PQfinish(d->c);
	d->c = NULL;
}

void dns_db_free(struct dns_db *d)
{
	if (d == NULL)
		return;
	dns_db_reset(d);
	explicit_bzero(d->conninfo, sizeof d->conninfo);
	free(d);
}

const char *dns_db_error(const struct dns_db *d)
{
	return d->err;
}

static void db_seterr(struct dns_db *d, const char *what, const PGresult *r)
{
	const char *m = r ? PQresultErrorMessage(r) : NULL;

	if (m == NULL || *m == '\0')
		m = d->c ? PQerrorMessage(d->c) : "no connection";
	snprintf(d->err, sizeof d->err, "%s: %s", what, m);
	d->err[strcspn(d->err, "\n")] = '\0';
}

/* The step's deadline passed: the connection is in an unknown state, dropped. */
static int db_timeout(struct dns_db *d, const char *what)
{
	snprintf(d->err, sizeof d->err, "%s: no answer within the step's %d ms (the database "
		 "hangs?)", what, d->budget_ms);
	dns_db_reset(d);
	return -1;
}

/* Wait for the socket (events) until the deadline: 0 ready, -1 deadline or error. */
static int db_wait(struct dns_db *d, short events)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= d->deadline)
			return -1;
		struct pollfd p = {.fd = PQsocket(d->c), .events = events};
		if (p.fd < 0)
			return -1;
		int rc = poll(&p, 1, (int)(d->deadline - now));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int bad_status(const PGresult *r)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	return st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK;
}

/* Send a statement (params NULL and n < 0: the simple protocol, several statements)
 * and collect its results by the deadline: the first failed one, else the last.
 * *timed_out set when the deadline passed (the connection then dropped). */
static PGresult *db_run(struct dns_db *d, const char *what, const char *sql, int n,
			const char *const *params, int *timed_out)
{
	PGresult *keep = NULL, *r;
	int f;

	*timed_out = 0;
	if (d->c == NULL)
		return NULL;
	if ((n < 0 ? PQsendQuery(d->c, sql) : PQsendQueryParams(d->c, sql, n, NULL, params, NULL,
								  NULL, 0)) != 1)
		return NULL;
	while ((f = PQflush(d->c)) == 1)
		if (db_wait(d, POLLIN | POLLOUT) != 0 || PQconsumeInput(d->c) != 1)
			break;
	for (;;) {
		while (f == 0 && PQisBusy(d->c))
			if (db_wait(d, POLLIN) != 0 || PQconsumeInput(d->c) != 1)
				f = -1;
		if (f != 0 || (r = PQgetResult(d->c)) == NULL)
			break;
		if (keep == NULL || (bad_status(r) && !bad_status(keep))) {
			PQclear(keep);
			keep = r;
		} else {
			PQclear(r);
		}
	}
	if (f != 0 && mono_ms() >= d->deadline) {
		PQclear(keep);
		*timed_out = 1;
		(void)db_timeout(d, what);
		return NULL;
	}
	return keep;
}

/* Run a statement; 0 when its status is ok. */
static int db_exec(struct dns_db *d, const char *what, const char *sql, int n,
		   const char *const *params, PGresult **out)
{
	int timed_out;
	PGresult *r = db_run(d, what, sql, n, params, &timed_out);

	if (timed_out)
		return -1;
	if (bad_status(r)) {
		db_seterr(d, what, r);
		PQclear(r);
		return -1;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

/* After an error inside a transaction; keeps the error text of that error. */
static int db_rollback(struct dns_db *d)
{
	char err[sizeof d->err];
	int timed_out;

	memcpy(err, d->err, sizeof err);
	if (d->c != NULL)
		PQclear(db_run(d, "ROLLBACK", "ROLLBACK", 0, NULL, &timed_out));
	memcpy(d->err, err, sizeof err);
	return -1;
}

static int db_schema(struct dns_db *d)
{
	PGresult *r;
	int have;

	if (db_exec(d, "looking for the domains table", "SELECT to_regclass('domains') IS NOT NULL",
		    0, NULL, &r) != 0)
		return -1;
	have = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (have)
		return 0;
	FILE *f = fopen(DNS_SCHEMA, "r");
	char *sql = malloc(DNS_SCHEMA_MAX + 1);
	size_t n = (f && sql) ? fread(sql, 1, DNS_SCHEMA_MAX, f) : 0;
	if (f)
		fclose(f);
	if (n == 0) {
		snprintf(d->err, sizeof d->err, "reading %s (pdns-backend-pgsql)", DNS_SCHEMA);
		free(sql);
		return -1;
	}
	sql[n] = '\0';
	/* several statements: the simple protocol */
	if (db_exec(d, "creating the PowerDNS schema from " DNS_SCHEMA, sql, -1, NULL, NULL) != 0) {
		free(sql);
		return -1;
	}
	free(sql);
	log_info("created the PowerDNS schema in database %s", PQdb(d->c));
	return 0;
}

int dns_db_ready(struct dns_db *d)
{
	if (d->c != NULL && PQstatus(d->c) == CONNECTION_OK)
		return 0;
	dns_db_reset(d);
	d->c = PQconnectStart(d->conninfo);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	if (d->c == NULL || PQstatus(d->c) == CONNECTION_BAD)
		st = PGRES_POLLING_FAILED;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		if (db_wait(d, st == PGRES_POLLING_READING ? POLLIN : POLLOUT) != 0)
			return db_timeout(d, "connecting to the DNS database");
		st = PQconnectPoll(d->c);
	}
	if (st == PGRES_POLLING_FAILED || PQsetnonblocking(d->c, 1) != 0) {
		db_seterr(d, "connecting to the DNS database", NULL);
		dns_db_reset(d);
		return -1;
	}
	if (db_schema(d) != 0) {
		dns_db_reset(d);
		return -1;
	}
	return 0;
}

/* The domain's id into id (16 bytes), 1 found, 0 not, -1 error. */
static int db_domain_id(struct dns_db *d, const char *domain, char id[32], int lock)
{
	const char *p[] = {domain};
	PGresult *r;

	if (db_exec(d, "reading the domain", lock ? "SELECT id FROM domains WHERE name=$1 FOR UPDATE"
					      : "SELECT id FROM domains WHERE name=$1",
		    1, p, &r) != 0)
		return -1;
	int found = PQntuples(r) > 0;
	if (found)
		snprintf(id, 32, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return found;
}

static int db_zone_create(struct dns_db *d, const struct dns_net *n, const char *up)
{
	char id[32], soa[600], nsdef[300];
	const char *ins = "INSERT INTO records (domain_id, name, type, content, ttl, prio, auth) "
			  "VALUES ($1, $2, $3, $4, 86400, 0, true)";

	snprintf(soa, sizeof soa, "nsX.%s root.%s 1 10800 1800 86400 86400", up, up);
	snprintf(nsdef, sizeof nsdef, "pvc-dns.%s", up);
	const char *pd[] = {n->domain};
	if (db_exec(d, "adding the domain", "INSERT INTO domains (name, type, account, "
		    "notified_serial) VALUES ($1, 'NATIVE', 'internal', 0) RETURNING id", 1, pd,
		    NULL) != 0 || db_domain_id(d, n->domain, id, 0) != 1)
		return -1;
	const char *ps[] = {id, n->domain, "SOA", soa};
	if (db_exec(d, "adding the SOA", ins, 4, ps, NULL) != 0)
		return -1;
	char list[320];
	snprintf(list, sizeof list, "%s", n->ns[0] ? n->ns : nsdef);
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const char *pn[] = {id, n->domain, "NS", t};
		if (db_exec(d, "adding an NS record", ins, 4, pn, NULL) != 0)
			return -1;
	}
	return 0;
}

int dns_db_zone_ensure(struct dns_db *d, const struct dns_net *n, const char *upstream_domain)
{
	char id[32];

	if (db_exec(d, "BEGIN", "BEGIN", 0, NULL, NULL) != 0)
		return -1;
	/* one creator at a time (a former primary's late sync cannot double the rows) */
	if (db_exec(d, "locking domains", "LOCK TABLE domains IN SHARE ROW EXCLUSIVE MODE", 0, NULL,
		    NULL) != 0)
		return db_rollback(d);
	int found = db_domain_id(d, n->domain, id, 0);
	if (found < 0 || (found == 0 && db_zone_create(d, n, upstream_domain) != 0))
		return db_rollback(d);
	if (db_exec(d, "COMMIT", "COMMIT", 0, NULL, NULL) != 0)
		return db_rollback(d);
	if (found == 0)
		log_info("DNS aggregator: added zone %s", n->domain);
	return 0;
}

static int rr_cmp(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

/* "name type ttl content" lines of z (those we store), sorted; NULL on no memory. */
static char **zone_lines(const struct dns_zone *z, size_t *n)
{
	char **v = calloc(z->n + 1, sizeof *v);

	*n = 0;
	for (size_t i = 0; v && i < z->n; i++) {
		const struct dns_rr *rr = &z->rr[i];
		if (rr->type == DNS_T_SOA || rr->type == DNS_T_NS)
			continue; /* ours, not dnsmasq's (the reference keeps its own too) */
		if (asprintf(&v[*n], "%s\t%s\t%u\t%s", rr->name, dns_axfr_type_name(rr->type),
			     rr->ttl, rr->content) < 0)
			v[*n] = NULL;
		if (v[*n] == NULL) {
			for (size_t k = 0; k < *n; k++)
				free(v[k]);
			free(v);
			return NULL;
		}
		(*n)++;
	}
	if (v)
		qsort(v, *n, sizeof *v, rr_cmp);
	return v;
}

static void lines_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Whether the stored records differ from the new lines: 1 yes, 0 no, -1 error. */
static int db_zone_differs(struct dns_db *d, const char *id, char **nv, size_t nn)
{
	const char *p[] = {id};
	PGresult *r;

	/* byte order (COLLATE "C"), as strcmp sorted the new lines */
	if (db_exec(d, "reading the records", "SELECT l FROM (SELECT name || E'\\t' || type || "
		    "E'\\t' || ttl || E'\\t' || content AS l FROM records WHERE domain_id=$1 AND "
		    "type NOT IN ('SOA','NS')) s ORDER BY l COLLATE \"C\"", 1, p, &r) != 0)
		return -1;
	int differs = (size_t)PQntuples(r) != nn;
	for (size_t i = 0; !differs && i < nn; i++)
		differs = strcmp(PQgetvalue(r, (int)i, 0), nv[i]) != 0;
	PQclear(r);
	return differs;
}

static int db_zone_write(struct dns_db *d, const char *id, char **nv, size_t nn)
{
	const char *p[] = {id};

	if (db_exec(d, "removing the old records", "DELETE FROM records WHERE domain_id=$1 AND "
		    "type NOT IN ('SOA','NS')", 1, p, NULL) != 0)
		return -1;
	for (size_t i = 0; i < nn; i++) {
		char *f[4], *save = NULL, *s = nv[i];
		for (int k = 0; k < 3; k++)
			f[k] = strtok_r(k ? NULL : s, "\t", &save);
		f[3] = save;
		const char *pi[] = {id, f[0], f[1], f[2], f[3]};
		int rc = db_exec(d, "adding a record", "INSERT INTO records (domain_id, name, type, "
				 "ttl, content, prio, auth) VALUES ($1, $2, $3, $4, $5, 0, true)", 5,
				 pi, NULL);
		for (int k = 0; k < 3; k++)
			f[k][strlen(f[k])] = '\t'; /* restore the line for lines_free's sake */
		if (rc != 0)
			return -1;
	}
	/* the serial in the SOA's third field, so secondaries see the change */
	return db_exec(d, "bumping the SOA serial", "UPDATE records SET content = "
		       "regexp_replace(content, '^(\\S+ \\S+ )(\\d+)', "
		       "'\\1' || ((substring(content from '^\\S+ \\S+ (\\d+)'))::bigint % 4294967295 + 1)) "
		       "WHERE domain_id=$1 AND type='SOA'", 1, p, NULL);
}

int dns_db_zone_sync(struct dns_db *d, const char *domain, const struct dns_zone *z,
		     int *changed)
{
	char id[32];
	size_t nn;
	char **nv = zone_lines(z, &nn);

	*changed = 0;
	if (nv == NULL) {
		snprintf(d->err, sizeof d->err, "out of memory");
		return -1;
	}
	int rc = db_exec(d, "BEGIN", "BEGIN", 0, NULL, NULL);
	int found = rc == 0 ? db_domain_id(d, domain, id, 1) : -1;
	int differs = found == 1 ? db_zone_differs(d, id, nv, nn) : found;
	if (differs == 1 && db_zone_write(d, id, nv, nn) != 0)
		differs = -1;
	if (differs >= 0 && db_exec(d, "COMMIT", "COMMIT", 0, NULL, NULL) == 0) {
		*changed = differs == 1;
		lines_free(nv, nn);
		return 0;
	}
	lines_free(nv, nn);
	if (rc == 0)
		db_rollback(d);
	return -1;
}

int dns_db_zones_prune(struct dns_db *d, const struct dns_net *nets, size_t n)
{
	PGresult *r;

	if (db_exec(d, "listing our zones", "SELECT id, name FROM domains WHERE account='internal'",
		    0, NULL, &r) != 0)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 1);
		size_t k = 0;
		while (k < n && strcmp(nets[k].domain, name) != 0)
			k++;
		if (k < n)
			continue;
		const char *p[] = {PQgetvalue(r, i, 0)};
		if (db_exec(d, "BEGIN", "BEGIN", 0, NULL, NULL) != 0 ||
		    db_exec(d, "removing records", "DELETE FROM records WHERE domain_id=$1", 1, p,
			    NULL) != 0 ||
		    db_exec(d, "removing a zone", "DELETE FROM domains WHERE id=$1", 1, p, NULL) != 0 ||
		    db_exec(d, "COMMIT", "COMMIT", 0, NULL, NULL) != 0) {
			PQclear(r);
			return db_rollback(d);
		}
		log_info("DNS aggregator: removed zone %s", name);
	}
	PQclear(r);
	return 0;
}
