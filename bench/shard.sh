#!/usr/bin/env bash
# Router overhead of the sharded deployment: appends/s through the PL/Proxy router (4 shards)
# against appends/s straight into one shard, on this machine, with pgbench. Not part of make
# test; timings are reported, never asserted. Brings the shards up (scripts/shard.sh up, which
# recreates them) and leaves them running.
#   bench/shard.sh                 # BENCH_SECONDS (default 20) per run, BENCH_CLIENTS (default 8)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
PORT="${SHARD_PORT:-56200}"
SECONDS_PER_RUN="${BENCH_SECONDS:-20}"
CLIENTS="${BENCH_CLIENTS:-8}"
SHARDS=4 bash scripts/shard.sh up >/dev/null

script=$(mktemp)
trap 'rm -f "$script"' EXIT
# One event appended to one of 100 000 aggregates (a uuid made from a random number), with
# no expectation: the store's own path plus, through the router, the routing hop.
cat >"$script" <<'SQL'
\set r random(1, 100000)
SELECT first_sequence FROM angzarr.append_events('bench', lpad(to_hex(:r), 32, '0')::uuid, ARRAY['Tick'], ARRAY['\x00'::bytea]);
SQL

run() { # database, label
    local tps
    tps=$("$PG_BIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" \
        -f "$script" "$1" 2>/dev/null | awk '/^tps/ {print int($3)}')
    echo "$2 $tps"
}
echo "== $CLIENTS clients, ${SECONDS_PER_RUN}s per run, rounds interleaved"
results=$(for round in 1 2; do
    run angzarr_shard_0 "direct-to-one-shard round$round"
    run angzarr_router "through-router-4-shards round$round"
done)
echo "$results"
echo "$results" | awk '
    /^direct/ {d += $3; nd++} /^through/ {r += $3; nr++}
    END {printf "direct %d appends/s, router %d appends/s, router/direct %.2f\n", d/nd, r/nr, (r/nr)/(d/nd)}'
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
