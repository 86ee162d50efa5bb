# shellcheck shell=bash
# tests/lib/pg.sh: a throw-away PostgreSQL 15 server for one test (no systemd).
#
#   pg_start [LISTEN_ADDRS]  initdb + start a cluster under $PVCT_WORK/pg as the
#                            `postgres` user (initdb refuses root), on a free TCP port
#                            and a socket directory under $PVCT_WORK; LISTEN_ADDRS
#                            (default 127.0.0.1) must exist before the start.
#                            Sets PG_PORT, PG_SOCKDIR, PG_DATA, PG_HOST (the first
#                            listen address). Stopped by the EXIT trap (on_exit).
#   pg_psql ARGS...          psql as the superuser over the socket (-X -q -v
#                            ON_ERROR_STOP=1 -At), e.g. pg_psql -d db -c 'select 1'
#   pg_create_db DB USER PASS  a database owned by a password (md5/scram) user
#   pg_stop                  stop it now (fast shutdown); pg_start again reuses the
#                            data directory (start of an existing cluster ~0.3 s)
#
# Measured here: initdb + start 1.4-1.6 s, start 0.2-0.3 s, stop 0.15 s.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA=
PG_PORT=
PG_SOCKDIR=
PG_HOST=
PG_LISTEN=

pg_free_port() {
	"$PVCT_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_start() {
	PG_LISTEN=${1:-${PG_LISTEN:-127.0.0.1}}
	PG_HOST=${PG_LISTEN%%,*}
	[[ -x $PG_BIN/initdb ]] || { echo "pg.sh: $PG_BIN/initdb missing (apt-get install postgresql-15)" >&2; return 1; }
	if [[ -z $PG_DATA ]]; then
		PG_DATA=$PVCT_WORK/pg/data
		PG_SOCKDIR=$PVCT_WORK/pg/sock
		PG_PORT=$(pg_free_port)
		mkdir -p "$PG_DATA" "$PG_SOCKDIR"
		# postgres must reach its directories below the 0700 work dir
		chmod 0711 "$PVCT_WORK"
		chown -R postgres: "$PVCT_WORK/pg"
		runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -A trust \
			-U postgres >"$PVCT_WORK/pg/initdb.log" 2>&1 ||
			{ cat "$PVCT_WORK/pg/initdb.log" >&2; return 1; }
		{
			echo "local all postgres trust"
			echo "host all all 0.0.0.0/0 scram-sha-256"
			echo "host all all ::/0 scram-sha-256"
		} >"$PG_DATA/pg_hba.conf"
		on_exit pg_stop
	fi
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 30 -l "$PVCT_WORK/pg/server.log" \
		-o "-p $PG_PORT -k $PG_SOCKDIR -c listen_addresses='$PG_LISTEN' -c fsync=off" \
		start >/dev/null || { tail -20 "$PVCT_WORK/pg/server.log" >&2; return 1; }
}

pg_stop() {
	[[ -n $PG_DATA && -f $PG_DATA/postmaster.pid ]] || return 0
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
}

pg_psql() {
	runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -At -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres "$@"
}

pg_create_db() {
	local db=$1 user=$2 pass=$3
	pg_psql -d postgres -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$pass'" &&
		pg_psql -d postgres -c "CREATE DATABASE \"$db\" OWNER \"$user\""
}
