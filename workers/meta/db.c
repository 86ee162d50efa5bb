/*
 * db.c: the provisioner's database (pvc.coordinator.metadata.database): one persistent
 * libpq connection, never blocking the worker's loop. Connects with PQconnectStartParams
 * and PQconnectPoll on the loop, queries with PQsendQueryParams; every step has a
 * deadline (META_DB_TIMEOUT_MS). A failure closes the connection and starts a backoff
 * (100 ms doubling to 5 s): during it a fetch answers META_UD_DBERR at once, so that a
 * database outage costs the clients a quick 503, never a hang. The query is the
 * reference's:
 *   SELECT userdata.userdata FROM profile JOIN userdata ON profile.userdata = userdata.id
 *   WHERE profile.name = $1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "meta.h"
#include "pvc.h"

#define META_DB_TIMEOUT_MS 2000
#define META_DB_BACKOFF_MIN_MS 100
#define META_DB_BACKOFF_MAX_MS 5000

static const char QUERY[] = "SELECT userdata.userdata FROM profile JOIN userdata ON "
			    "profile.userdata = userdata.id WHERE profile.name = $1";

enum dbstate { DB_DOWN, DB_CONNECTING, DB_IDLE, DB_QUERY };

struct meta_db {
	struct ev_loop *loop;
	const struct cfg_db *cfg;
	meta_db_done_fn done;
	void *arg;
	PGconn *conn;
	enum dbstate st;
	int fd;
	uint64_t timer, retry_at_ms, backoff_ms;
	char profile[META_NAME_MAX]; /* the fetch in progress ("" if none) */
	int logged_down;
};

static void db_step(struct meta_db *d);

struct meta_db *meta_db_new(struct ev_loop *loop, const struct cfg_db *cfg, meta_db_done_fn done,
			    void *arg)
{
	struct meta_db *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->loop = loop;
	d->cfg = cfg;
	d->done = done;
	d->arg = arg;
	d->fd = -1;
	return d;
}

int meta_db_busy(const struct meta_db *d)
{
	return d->profile[0] != '\0';
}

static void db_unwatch(struct meta_db *d)
{
	if (d->fd >= 0)
		ev_del_fd(d->loop, d->fd);
	d->fd = -1;
	if (d->timer)
		ev_timer_cancel(d->loop, d->timer);
	d->timer = 0;
}

static void db_disconnect(struct meta_db *d)
{
	db_unwatch(d);
	if (d->conn)
		PQfinish(d->conn);
	d->conn = NULL;
	d->st = DB_DOWN;
}

static void db_answer(struct meta_db *d, enum meta_ud_state st, const char *data, size_t len)
{
	char name[META_NAME_MAX];

	if (d->profile[0] == '\0')
		return;
	memcpy(name, d->profile, sizeof(name));
	d->profile[0] = '\0';
	d->done(d->arg, name, st, data, len);
}

void meta_db_close(struct meta_db *d)
{
	db_disconnect(d);
	/* a new term connects at once, whatever the last term's backoff */
	d->retry_at_ms = 0;
	d->backoff_ms = 0;
	/* the fetch in progress is answered: left pending, it would keep meta_db_busy()
	 * true and no user-data would ever be fetched again */
	db_answer(d, META_UD_DBERR, NULL, 0);
}

static void db_fail(struct meta_db *d, const char *what)
{
	const char *msg = d->conn ? PQerrorMessage(d->conn) : "";
	char one[256];
	uint64_t next = d->backoff_ms ? d->backoff_ms * 2 : META_DB_BACKOFF_MIN_MS;

	if (next > META_DB_BACKOFF_MAX_MS)
		next = META_DB_BACKOFF_MAX_MS;
	/* libpq's messages end in a newline and may span lines */
	snprintf(one, sizeof(one), "%s", msg);
	for (char *p = one; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	log_errx("metadata: database %s@%s:%d/%s: %s failed: %s (answering 503; retry in %llu ms)",
		 d->cfg->user, d->cfg->host, d->cfg->port, d->cfg->name, what, one,
		 (unsigned long long)next);
	db_disconnect(d);
	d->backoff_ms = next;
	d->retry_at_ms = mono_ms() + d->backoff_ms;
	d->logged_down = 1;
	db_answer(d, META_UD_DBERR, NULL, 0);
}

static void db_timeout(struct ev_loop *loop, void *arg)
{
	struct meta_db *d = arg;

	d->timer = 0;
	db_fail(d, d->st == DB_CONNECTING ? "connect (timeout)" : "query (timeout)");
}

static void db_io(struct ev_loop *loop, int fd, short revents, void *arg)
{
	db_step(arg);
}

static void db_watch(struct meta_db *d, short events)
{
	int fd = PQsocket(d->conn);

	if (fd != d->fd && d->fd >= 0)
		ev_del_fd(d->loop, d->fd);
	d->fd = fd;
	if (fd < 0 || ev_add_fd(d->loop, fd, events, db_io, d) != 0)
		db_fail(d, "watching the socket");
}

static void db_result(struct meta_db *d)
{
	PGresult *res;
	enum meta_ud_state st = META_UD_EMPTY;
	char *data = NULL;
	size_t len = 0;
	int err = 0;

	while ((res = PQgetResult(d->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			err = 1;
		} else if (data == NULL && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
			len = (size_t)PQgetlength(res, 0, 0);
			if (len > META_USERDATA_MAX) {
				st = META_UD_TOOBIG;
			} else {
				data = malloc(len + 1);
				if (data != NULL) {
					memcpy(data, PQgetvalue(res, 0, 0), len);
					st = META_UD_OK;
				} else {
					err = 1;
				}
			}
		}
		PQclear(res);
	}
	if (err) {
		free(data);
		db_fail(d, "query");
		return;
	}
	d->st = DB_IDLE;
	if (d->timer)
		ev_timer_cancel(d->loop, d->timer);
	d->timer = 0;
	db_watch(d, POLLIN); /* notice a connection the server closes while idle */
	if (d->logged_down) {
		log_info("metadata: database %s:%d/%s answers again", d->cfg->host, d->cfg->port,
			 d->cfg->name);
		d->logged_down = 0;
	}
	d->backoff_ms = 0;
	db_answer(d, st, data, len);
	free(data);
}

static void db_send(struct meta_db *d)
{
	const char *params[1] = {d->profile};

	if (PQsendQueryParams(d->conn, QUERY, 1, NULL, params, NULL, NULL, 0) != 1) {
		db_fail(d, "query");
		return;
	}
	d->st = DB_QUERY;
	d->timer = ev_timer(d->loop, META_DB_TIMEOUT_MS, db_timeout, d);
	if (PQflush(d->conn) == 1)
		db_watch(d, POLLIN | POLLOUT);
	else
		db_watch(d, POLLIN);
}

static void db_step(struct meta_db *d)
{
	if (d->st == DB_CONNECTING) {
		switch (PQconnectPoll(d->conn)) {
		case PGRES_POLLING_READING:
			db_watch(d, POLLIN);
			return;
		case PGRES_POLLING_WRITING:
			db_watch(d, POLLOUT);
			return;
		case PGRES_POLLING_OK:
			if (d->timer)
				ev_timer_cancel(d->loop, d->timer);
			d->timer = 0;
			if (PQsetnonblocking(d->conn, 1) != 0) {
				db_fail(d, "connect (non-blocking mode)");
				return;
			}
			d->st = DB_IDLE;
			if (d->profile[0] != '\0')
				db_send(d);
			else
				db_watch(d, POLLIN);
			return;
		default:
			db_fail(d, "connect");
			return;
		}
	}
	if (d->st == DB_QUERY) {
		if (PQflush(d->conn) == -1 || PQconsumeInput(d->conn) != 1) {
			db_fail(d, "query");
			return;
		}
		if (PQisBusy(d->conn))
			return;
		if (d->timer)
			ev_timer_cancel(d->loop, d->timer);
		d->timer = 0;
		db_result(d);
		return;
	}
	/* idle: a notice or the server closing the connection */
	if (d->conn && (PQconsumeInput(d->conn) != 1 || PQstatus(d->conn) != CONNECTION_OK))
		db_disconnect(d);
}

static int db_connect(struct meta_db *d)
{
	char port[16];
	/* no password file, no service file, no environment: only our configuration (the
	 * reference's psycopg2 call: host, port, dbname, user, password); no GSSAPI
	 * probe (Kerberos files are outside the worker's Landlock paths, and PVC's
	 * provisioner database uses a password); TLS as the server offers (sslmode prefer) */
	const char *keys[] = {"host", "port", "dbname", "user", "password", "passfile",
			      "application_name", "client_encoding", "connect_timeout",
			      "gssencmode", NULL};
	const char *vals[] = {d->cfg->host, port, d->cfg->name, d->cfg->user, d->cfg->pass,
			      "/dev/null", "pvc-metadata", "UTF8", "2", "disable", NULL};

	snprintf(port, sizeof(port), "%d", d->cfg->port);
	d->conn = PQconnectStartParams(keys, vals, 0);
	if (d->conn == NULL || PQstatus(d->conn) == CONNECTION_BAD) {
		db_fail(d, "connect");
		return -1;
	}
	d->st = DB_CONNECTING;
	d->timer = ev_timer(d->loop, META_DB_TIMEOUT_MS, db_timeout, d);
	db_watch(d, POLLOUT);
	return 0;
}

int meta_db_fetch(struct meta_db *d, const char *profile)
{
	if (meta_db_busy(d))
		return -1;
	strlcpy_pvc(d->profile, profile, sizeof(d->profile));
	if (d->st == DB_IDLE) {
		db_send(d);
		return 0;
	}
	if (d->st == DB_DOWN) {
		if (mono_ms() < d->retry_at_ms) {
			db_answer(d, META_UD_DBERR, NULL, 0);
			return 0;
		}
		(void)db_connect(d);
	}
	return 0;
}
