#!/usr/bin/env bash
# Grows the local sharded deployment (scripts/shard.sh) from N to 2N shards: old shard k keeps
# the aggregates whose hash has bit N clear and gives the others to the new shard k + N
# (docs/src/operations/sharding.md, "Growing from N to 2N shards"). Offline: stop every writer
# and let every feed consumer catch up first; the script does not pause them for you.
#   scripts/shard_split.sh
# Per old shard k: creates shard k + N, copies edition definitions, the moving aggregates'
# events (in their original feed order, so the new shard's trigger accepts every sequence and
# id as it did the first time), snapshots and positions, and starts every feed consumer of
# shard k at the new shard's horizon (they had consumed those events on shard k). Then it
# switches the router's map to 2N shards in one transaction and removes the moved rows from the
# old shards (as superuser, with the events' immutability trigger bypassed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${SHARD_PORT:-56200}" CLUSTER=shard ANGZARR_HOME="${ANGZARR_SHARD_HOME:-/var/lib/angzarr_shard}"
export PGOPTIONS="-c client_min_messages=warning"
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
psql_q() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

n=$(psql_q -d angzarr_router -tAc "SELECT count(*) FROM angzarr_router.shards")
mask=$((2 * n - 1))
echo "shard_split: $n -> $((2 * n)) shards"
copy_rows() { # from, to, table, order, target
    psql_q -d "$1" -v table="$3" -v order="$4" -v mask="$mask" -v target="$5" -f shard/split_select.sql |
        psql_q -d "$2" -c "COPY angzarr.$3 FROM STDIN"
}
for ((k = 0; k < n; k++)); do
    from="angzarr_shard_$k" j=$((k + n)) to="angzarr_shard_$((k + n))"
    bash scripts/cluster.sh createdb "$to" >/dev/null
    # Editions first: the trigger computes a named edition's sequences from its divergence points.
    psql_q -d "$from" -c "COPY angzarr.editions TO STDOUT" | psql_q -d "$to" -c "COPY angzarr.editions FROM STDIN"
    psql_q -d "$from" -c "COPY angzarr.edition_divergences TO STDOUT" |
        psql_q -d "$to" -c "COPY angzarr.edition_divergences FROM STDIN"
    copy_rows "$from" "$to" events "t.feed_tx, t.global_position" "$j"
    copy_rows "$from" "$to" snapshots "t.domain, t.edition, t.root, t.sequence" "$j"
    copy_rows "$from" "$to" positions "t.handler, t.domain, t.edition, t.root" "$j"
    horizon=$(psql_q -d "$to" -tAc "SELECT feed_tx || ',' || global_position FROM angzarr.feed_horizon()")
    psql_q -d "$from" -tAc "SELECT format('SELECT angzarr.save_feed_position(%L, $horizon);', consumer) FROM angzarr.feed_positions" |
        psql_q -d "$to" >/dev/null
    echo "shard_split: shard $k -> $j: $(psql_q -d "$to" -tAc "SELECT count(*) FROM angzarr.events") events moved"
done
{
    echo "BEGIN;"
    for ((j = n; j < 2 * n; j++)); do
        echo "INSERT INTO angzarr_router.shards VALUES ($j, 'host=127.0.0.1 port=$PORT dbname=angzarr_shard_$j');"
    done
    echo "COMMIT;"
} | psql_q -d angzarr_router
for ((k = 0; k < n; k++)); do
    psql_q -d "angzarr_shard_$k" <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM angzarr.events t WHERE (('x' || left(md5(t.domain || ':' || t.root::text), 8))::bit(32)::integer & $mask) <> $k;
DELETE FROM angzarr.snapshots t WHERE (('x' || left(md5(t.domain || ':' || t.root::text), 8))::bit(32)::integer & $mask) <> $k;
DELETE FROM angzarr.positions t WHERE (('x' || left(md5(t.domain || ':' || t.root::text), 8))::bit(32)::integer & $mask) <> $k;
COMMIT;
SQL
done
echo "shard_split: the router maps $((2 * n)) shards"
