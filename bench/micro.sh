#!/usr/bin/env bash
# Micro-benchmarks of the append path: one pgbench client runs a fixed number of transactions of
# one script from bench/micro/, and we read the server process's own CPU time from
# /proc/PID/schedstat. CPU time per transaction barely moves when other processes compete for
# the cores, unlike throughput, so these numbers isolate what each piece of the append path
# costs: the trigger, its SET search_path, the head probe, the advisory lock, the PL/pgSQL
# wrapper. Needs the bench cluster running (BENCH_KEEP_CLUSTER=1 bash bench/run.sh, or
# bench/cluster.sh pin + start); works in a database of its own (bench_micro).
#   bash bench/micro.sh [EXPERIMENT ...]      (default: all; ROUNDS, TX, CLIENTS env vars)
# With CLIENTS=n, n pgbench clients run the script at once (each on its own aggregate) and the
# CPU of all n server processes is summed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
PORT="${BENCH_PORT:-55440}"
ROUNDS="${ROUNDS:-3}"
TX="${TX:-5000}"
CLIENTS="${CLIENTS:-1}"
DB=bench_micro
export PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER=postgres
psql_q() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# name: script [setup SQL run before, undone after]
declare -A SCRIPT=(
    [floor_insert]=floor_insert [floor_lock]=floor_lock [floor_probe]=floor_probe
    [ours_insert]=ours_insert [ours_insert_no_set_path]=ours_insert [ours_insert_seq]=ours_insert_seq
    [ours_append]=ours_append [ours_append_any]=ours_append_any [naive_insert]=naive_insert
    [floor_fresh]=floor_fresh [ours_fresh]=ours_fresh [floor_short]=floor_short [ours_short]=ours_short
    [floor_batch100]=floor_batch100 [ours_batch100]=ours_batch100 [ours_batch100_no_set_path]=ours_batch100
    [ours_append_no_set_path]=ours_append [ours_append_sql]=ours_append_sql [ours_append_min]=ours_append_min [ours_insert_returning]=ours_insert_returning
)
ORDER=(floor_insert floor_lock floor_probe ours_insert ours_insert_no_set_path ours_insert_seq
       ours_insert_returning ours_append ours_append_no_set_path ours_append_any ours_append_sql ours_append_min
       naive_insert floor_fresh ours_fresh floor_short ours_short floor_batch100 ours_batch100
       ours_batch100_no_set_path)
[ $# -gt 0 ] && ORDER=("$@")

setup_db() {
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    psql_q -d "$DB" -c "CREATE EXTENSION angzarr_store" -f sql/floor_store.sql -f sql/naive_plpgsql_store.sql \
        -f micro/alt_append.sql
    # Every store starts with the same 100,000 events (1,000 aggregates of 100) and fresh
    # statistics, so no cached plan is made for an empty table.
    psql_q -d "$DB" -f micro/prefill.sql
}

# A function's SET search_path makes every call go through fmgr_security_definer; the
# *_no_set_path experiments measure the trigger and append_events without whatever SET clauses
# they have, then put back exactly what was there.
FUNCS=("angzarr._events_before_insert()" "angzarr.append_events(text, uuid, text[], bytea[], text, bigint, text, text, timestamptz[], uuid[])")
declare -A SAVED=()
set_path() {
    local f sql
    for f in "${FUNCS[@]}"; do
        if [ "$1" = off ]; then
            SAVED[$f]="$(psql_q -d "$DB" -tAc "SELECT coalesce(string_agg(format('ALTER FUNCTION %s SET %s = %s', '$f', split_part(c, '=', 1), substr(c, strpos(c, '=') + 1)), '; '), '') FROM pg_proc, unnest(proconfig) c WHERE oid = '$f'::regprocedure")"
            psql_q -d "$DB" -c "ALTER FUNCTION $f RESET ALL"
        else
            sql="${SAVED[$f]:-}"
            [ -n "$sql" ] && psql_q -d "$DB" -c "$sql"
        fi
    done
}

# Prints "cpu_us_per_tx tps" for one run. Each client gets its own aggregate: pgbench's
# :client_id is mixed into the root.
run_one() {
    local name="$1" app="micro_$1_$RANDOM" pids="" out total=0 pid v
    declare -A last=()
    PGAPPNAME="$app" "$PG_BIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -t "$TX" \
        -f "micro/${SCRIPT[$name]}.sql" -D root="$(cat /proc/sys/kernel/random/uuid)" -D seq=-1 \
        "$DB" >"/tmp/$app.out" 2>&1 &
    local bg=$!
    while [ "$(echo "$pids" | wc -w)" -lt "$CLIENTS" ] && kill -0 "$bg" 2>/dev/null; do
        pids="$(psql_q -d "$DB" -tAc "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE application_name = '$app'" || true)"
    done
    while kill -0 "$bg" 2>/dev/null; do
        for pid in $pids; do
            v="$(cut -d' ' -f1 "/proc/$pid/schedstat" 2>/dev/null)" && last[$pid]="$v"
        done
        sleep 0.05
    done
    wait "$bg" || { cat "/tmp/$app.out" >&2; return 1; }
    for pid in $pids; do total=$((total + ${last[$pid]:-0})); done
    if [ "$total" -eq 0 ]; then
        # pgbench finished before its server process was found: measure again.
        rm -f "/tmp/$app.out"
        run_one "$name"
        return
    fi
    out="$(grep -m1 '^tps' "/tmp/$app.out" | awk '{print $3}')"
    rm -f "/tmp/$app.out"
    awk -v ns="$total" -v tx="$((TX * CLIENTS))" -v tps="$out" 'BEGIN { printf "%.1f %.0f\n", ns / 1000 / tx, tps }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

setup_db
declare -A CPU TPS
for round in $(seq "$ROUNDS"); do
    for name in "${ORDER[@]}"; do
        case "$name" in *_no_set_path) set_path off ;; esac
        read -r cpu tps < <(run_one "$name")
        case "$name" in *_no_set_path) set_path on ;; esac
        CPU[$name]+="$cpu "
        TPS[$name]+="$tps "
        echo "round $round $name: $cpu us server CPU/tx, $tps tx/s" >&2
    done
done

printf '| experiment | server CPU µs/tx (median of %s x %s tx) | vs floor_insert | tx/s (median, noisy) |\n|---|---:|---:|---:|\n' "$ROUNDS" "$TX"
base="$(echo "${CPU[floor_insert]:-}" | tr ' ' '\n' | grep . | median || true)"
for name in "${ORDER[@]}"; do
    c="$(echo "${CPU[$name]}" | tr ' ' '\n' | grep . | median)"
    t="$(echo "${TPS[$name]}" | tr ' ' '\n' | grep . | median)"
    rel="–"
    [ -n "$base" ] && rel="$(awk -v c="$c" -v b="$base" 'BEGIN { printf "%+.1f µs", c - b }')"
    echo "| $name | $c | $rel | $t |"
done
