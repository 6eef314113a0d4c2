#!/usr/bin/env bash
# `make bench`: installs the extension (release build), builds the benchmark driver with the
# peers fetched from their registries (eventcore-postgres from crates.io, Message DB from npm),
# creates the dedicated benchmark cluster, runs W1-W8 and prints one table per workload.
# Everything downloaded or built goes under bench/.peers/ (ignored by git); results go to
# bench/out/ (ignored too). Variables: see bench/README.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$(pwd)"
BENCH="$REPO/bench"
PEERS="$BENCH/.peers"
OUT="${BENCH_OUT:-$BENCH/out}"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PG_BIN="$("$PG_CONFIG" --bindir)"
export BENCH_PORT="${BENCH_PORT:-55440}"
export PGHOST=127.0.0.1 PGPORT="$BENCH_PORT" PGUSER=postgres
MESSAGEDB_VERSION=1.3.1
mkdir -p "$PEERS" "$OUT"
OUT="$(cd "$OUT" && pwd)"

log() { echo "bench: $*" >&2; }
psql_bench() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# 1. The extension, release build, into the shared PostgreSQL installation. The work tree is
#    shared: a build broken by someone's half-written file is retried after a pause.
install_extension() {
    [ "${BENCH_SKIP_INSTALL:-0}" = 1 ] && { log "skipping cargo pgrx install (BENCH_SKIP_INSTALL=1)"; return; }
    local attempt
    for attempt in 1 2 3 4 5; do
        log "installing the extension (cargo pgrx install --release), attempt $attempt"
        if cargo pgrx install --release --pg-config "$PG_CONFIG" >"$OUT/install.log" 2>&1; then
            return
        fi
        log "install failed (tail of $OUT/install.log below); retrying in 60 s"
        tail -5 "$OUT/install.log" >&2
        sleep 60
    done
    log "could not install the extension; see $OUT/install.log"
    exit 1
}

# 2. The driver, in a workspace of its own with its own target dir. eventcore-postgres and our
#    client are optional features: whatever does not build is left out and reported as missing.
build_driver() {
    export CARGO_TARGET_DIR="$PEERS/target"
    local features
    : >"$OUT/build.log"
    for features in "eventcore,client" "eventcore" "client" ""; do
        log "building the driver with features [${features}]"
        if (cd "$BENCH/driver" && cargo build --release --features "$features") >>"$OUT/build.log" 2>&1; then
            DRIVER_FEATURES="$features"
            return
        fi
    done
    log "the driver does not build; see $OUT/build.log"
    exit 1
}

# 3. Message DB from npm, installed into the bench database with its own install script.
install_messagedb() {
    local dir
    dir="$(mktemp -d "$PEERS/messagedb.XXXXXX")"
    if ! (cd "$dir" && npm pack --silent "@eventide/message-db@$MESSAGEDB_VERSION" >npm.log 2>&1 \
            && tar xzf eventide-message-db-*.tgz); then
        MESSAGEDB_STATUS="not installed: npm pack @eventide/message-db@$MESSAGEDB_VERSION failed ($(tail -1 "$dir/npm.log" 2>/dev/null))"
        return
    fi
    if (cd "$dir/package/database" && DATABASE_NAME=bench CREATE_DATABASE=off \
            PATH="$PG_BIN:$PATH" bash install.sh) >"$OUT/messagedb-install.log" 2>&1; then
        MESSAGEDB_STATUS=installed
    else
        MESSAGEDB_STATUS="not installed: its install.sh failed (see bench/out/messagedb-install.log)"
    fi
}

machine() {
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD -- src sql 2>/dev/null || echo ' (with uncommitted changes in src/ or sql/)')"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
    echo "- Memory: $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo); kernel $(uname -r)"
    echo "- PostgreSQL: $("$PG_BIN/postgres" --version | sed 's/postgres (PostgreSQL) //'); $(rustc --version)"
    echo "- Extension: release build of the work tree, sha256 $EXT_SHA…, pinned into the bench cluster's private copy of the installation"
    echo "- Driver features: [${DRIVER_FEATURES}]; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# The release .so this run measures, pinned into the bench cluster's private installation.
pin_extension() {
    local so="$REPO/target/release/libangzarr_store.so"
    [ -f "$so" ] || { log "no release build at $so (run without BENCH_SKIP_INSTALL)"; exit 1; }
    if nm "$so" 2>/dev/null | grep -q precondition_check; then
        log "$so looks like an unoptimised build; refusing to benchmark it"
        exit 1
    fi
    bash "$BENCH/cluster.sh" pin "$so"
    EXT_SHA="$(sha256sum "$so" | cut -c1-16)"
}

install_extension
pin_extension
build_driver
bash "$BENCH/cluster.sh" start
trap '[ "${BENCH_KEEP_CLUSTER:-0}" = 1 ] || bash "$BENCH/cluster.sh" stop' EXIT

for db in bench bench_growth bench_growth_empty; do
    psql_bench -d postgres -c "CREATE DATABASE $db"
    psql_bench -d "$db" -c "CREATE EXTENSION angzarr_store" -f "$BENCH/sql/floor_store.sql" \
        -f "$BENCH/sql/angzarr_pg_store.sql"
done
psql_bench -d bench -f "$BENCH/sql/naive_plpgsql_store.sql"
install_messagedb
log "Message DB: $MESSAGEDB_STATUS"

HEADER="$OUT/header.md"
machine >"$HEADER"
cat "$HEADER" >&2

BENCH_URL="postgres://postgres@127.0.0.1:$BENCH_PORT/bench" \
BENCH_GROWTH_URL="postgres://postgres@127.0.0.1:$BENCH_PORT/bench_growth" \
BENCH_GROWTH_EMPTY_URL="postgres://postgres@127.0.0.1:$BENCH_PORT/bench_growth_empty" \
BENCH_MESSAGEDB_STATUS="$MESSAGEDB_STATUS" \
BENCH_SETTINGS="$(bash "$BENCH/cluster.sh" settings)" \
BENCH_PGBENCH="$PG_BIN/pgbench" \
BENCH_OUT="$OUT" \
    "$PEERS/target/release/angzarr_bench" >"$OUT/driver.md"

{ echo "# angzarr_store benchmark run"; echo; cat "$HEADER"; echo; cat "$OUT/driver.md"; } >"$OUT/results.md"
cat "$OUT/results.md"
# The book's charts (docs/src/benchmarks/charts/) from this run's results.
python3 "$BENCH/charts.py" "$OUT/results.json"
log "results in $OUT/results.md and $OUT/results.json"
