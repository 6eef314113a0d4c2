#!/usr/bin/env bash
# Runs the local PostgreSQL 15 cluster used by `make demo`, `make test` and `make psql`.
# PostgreSQL refuses to run as root, so the cluster runs as the OS user `postgres` with its data
# under $ANGZARR_HOME (default /var/lib/angzarr_store), outside any root-owned folder.
#   cluster.sh start | stop | status | url [DB] | createdb DB | dropdb DB
set -euo pipefail

PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
PORT="${PORT:-55432}"
HOME_DIR="${ANGZARR_HOME:-/var/lib/angzarr_store}"
NAME="${CLUSTER:-dev}"
DATA="$HOME_DIR/$NAME/data"
RUN="$HOME_DIR/$NAME/run"
LOG="$HOME_DIR/$NAME/postgresql.log"
OS_USER=postgres

as_pg() { runuser -u "$OS_USER" -- "$@"; }
psql_admin() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

start() {
    id "$OS_USER" >/dev/null 2>&1 || { echo "cluster: no OS user $OS_USER (run scripts/setup.sh)" >&2; exit 1; }
    mkdir -p "$HOME_DIR/$NAME" "$RUN"
    chown "$OS_USER": "$HOME_DIR" "$HOME_DIR/$NAME" "$RUN"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN'
max_connections = 200
max_prepared_transactions = 10
fsync = on
synchronous_commit = on
CONF
    fi
    ensure_ssl
    if as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        return 0
    fi
    # RUST_BACKTRACE=1 makes a Rust panic's log entry useful; the extension keeps backtraces out
    # of what clients see (a test checks that with this very setting).
    as_pg env RUST_BACKTRACE=1 "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $PORT" -w -t 60 start >/dev/null
    echo "cluster: $NAME running on 127.0.0.1:$PORT (data $DATA, log $LOG)"
}

# TLS with a self-signed certificate, so the client's `tls` feature is tested against a server
# that speaks SSL (clients may still connect without it). Added to older clusters too.
ensure_ssl() {
    [ -f "$DATA/server.crt" ] && return 0
    openssl req -new -x509 -days 3650 -nodes -subj "/CN=localhost" \
        -keyout "$DATA/server.key" -out "$DATA/server.crt" >/dev/null 2>&1
    chown "$OS_USER": "$DATA/server.key" "$DATA/server.crt"
    chmod 600 "$DATA/server.key"
    echo "ssl = on" >>"$DATA/postgresql.conf"
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" reload >/dev/null 2>&1 || true
}

case "${1:-}" in
    start) start ;;
    stop) as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop 2>/dev/null || true ;;
    status) as_pg "$PG_BIN/pg_ctl" -D "$DATA" status ;;
    url) echo "postgres://postgres@127.0.0.1:$PORT/${2:-angzarr}" ;;
    createdb)
        psql_admin -d postgres -c "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)" -c "CREATE DATABASE \"$2\""
        psql_admin -d "$2" -c "CREATE EXTENSION angzarr_store" ;;
    ensuredb)
        if ! psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$2'" | grep -q 1; then
            psql_admin -d postgres -c "CREATE DATABASE \"$2\""
        fi
        psql_admin -d "$2" -c "CREATE EXTENSION IF NOT EXISTS angzarr_store" -c "ALTER EXTENSION angzarr_store UPDATE" ;;
    dropdb) psql_admin -d postgres -c "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)" ;;
    *) echo "usage: $0 start|stop|status|url [DB]|createdb DB|ensuredb DB|dropdb DB" >&2; exit 2 ;;
esac
