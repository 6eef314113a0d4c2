#!/usr/bin/env bash
# The benchmark cluster: a PostgreSQL 15 cluster of its own (default port 55440), re-created on
# every run so each run starts from the same empty state with the settings below, and never
# disturbs the dev cluster on 55432. PostgreSQL refuses to run as root, so it runs as `postgres`.
#
# The server runs from a private copy of the PostgreSQL installation (bin, lib, share) taken at
# `pin`, holding the extension build given to it. The shared installation is rewritten by
# everyone's `cargo pgrx install` / `cargo pgrx test` (debug builds included), and a backend loads
# the extension's .so when it first needs it, so without the copy a run could measure whatever
# build someone installed a minute ago. PostgreSQL finds lib and share relative to its binary,
# so the copy needs no configuration.
#   cluster.sh pin SO | start | stop | url [DB] | settings | pgbin
set -euo pipefail

PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PORT="${BENCH_PORT:-55440}"
HOME_DIR="${BENCH_HOME:-/var/lib/angzarr_store/bench}"
PG_HOME="$HOME_DIR/pg"
SYS_BIN="$("$PG_CONFIG" --bindir)"
SYS_LIBROOT="$(dirname "$SYS_BIN")"
SYS_SHARE="$("$PG_CONFIG" --sharedir)"
SYS_PKGLIB="$("$PG_CONFIG" --pkglibdir)"
# Private paths mirror the system ones below a common prefix (/usr on Debian).
PREFIX="${SYS_LIBROOT%%/lib/*}"
LIBROOT="$PG_HOME${SYS_LIBROOT#"$PREFIX"}"
PG_BIN="$PG_HOME${SYS_BIN#"$PREFIX"}"
PKGLIB="$PG_HOME${SYS_PKGLIB#"$PREFIX"}"
SHARE="$PG_HOME${SYS_SHARE#"$PREFIX"}"
DATA="$HOME_DIR/data"
RUN="$HOME_DIR/run"
LOG="$HOME_DIR/postgresql.log"
SYNC="${BENCH_SYNC_COMMIT:-on}"
SHARED_BUFFERS="${BENCH_SHARED_BUFFERS:-4GB}"
# WAL kept between checkpoints; the 10-million-event loads of W7/W9 write tens of GB of it, so
# a machine with less free disk than that needs a smaller value (checkpoints then run during
# the loads, not during the measurements, which follow a CHECKPOINT).
MAX_WAL_SIZE="${BENCH_MAX_WAL_SIZE:-32GB}"
OS_USER=postgres

as_pg() { runuser -u "$OS_USER" -- "$@"; }

# The settings every run states in its results. fsync and synchronous_commit stay on unless
# BENCH_SYNC_COMMIT=off. Background work is kept out of the measured windows: checkpoints are
# pushed far apart and autovacuum is off, because the driver runs VACUUM ANALYZE and CHECKPOINT
# itself before each workload. JIT is off so plans do not flip between rounds.
settings() {
    cat <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN'
max_connections = 100
fsync = on
synchronous_commit = $SYNC
full_page_writes = on
wal_level = replica
shared_buffers = $SHARED_BUFFERS
work_mem = 16MB
maintenance_work_mem = 512MB
max_wal_size = $MAX_WAL_SIZE
checkpoint_timeout = 1h
checkpoint_completion_target = 0.9
jit = off
autovacuum = off
CONF
}

stop() {
    if [ -f "$DATA/PG_VERSION" ]; then
        as_pg "$SYS_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

# Copies the system installation, then puts the extension files in: the .so given (the release
# build just made) and the control/SQL files cargo pgrx install wrote to the shared sharedir.
pin() {
    local so="$1" ext
    stop
    rm -rf "$PG_HOME"
    mkdir -p "$(dirname "$LIBROOT")" "$(dirname "$SHARE")"
    cp -a "$SYS_LIBROOT" "$(dirname "$LIBROOT")/"
    cp -a "$SYS_SHARE" "$(dirname "$SHARE")/"
    [ -x "$PG_BIN/postgres" ] || { echo "bench cluster: copying the installation failed" >&2; exit 1; }
    rm -f "$PKGLIB"/angzarr_store*.so "$SHARE"/extension/angzarr_store*
    install -m 0755 "$so" "$PKGLIB/angzarr_store.so"
    for ext in "$SYS_SHARE"/extension/angzarr_store*; do
        install -m 0644 "$ext" "$SHARE/extension/"
    done
    chmod -R a+rX "$HOME_DIR"
    echo "bench cluster: pinned $(sha256sum "$PKGLIB/angzarr_store.so" | cut -c1-16) from $so"
}

start() {
    [ -x "$PG_BIN/postgres" ] || { echo "bench cluster: run '$0 pin SO' first" >&2; exit 1; }
    id "$OS_USER" >/dev/null 2>&1 || { echo "bench cluster: no OS user $OS_USER (run make setup)" >&2; exit 1; }
    stop
    rm -rf "$DATA"
    mkdir -p "$HOME_DIR" "$RUN"
    chown "$OS_USER": "$HOME_DIR" "$RUN"
    as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    settings >>"$DATA/postgresql.conf"
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $PORT" -w -t 120 start >/dev/null
    echo "bench cluster: running on 127.0.0.1:$PORT (data $DATA, log $LOG)"
}

case "${1:-}" in
    pin) pin "$2" ;;
    start) start ;;
    pgbin) echo "$PG_BIN" ;;
    stop) stop ;;
    url) echo "postgres://postgres@127.0.0.1:$PORT/${2:-bench}" ;;
    settings) settings | grep -v -e '^listen_addresses' -e '^unix_socket' ;;
    *) echo "usage: $0 pin SO|start|stop|url [DB]|settings|pgbin" >&2; exit 2 ;;
esac
