#!/usr/bin/env bash
# A sharded angzarr_store on this machine: SHARDS databases angzarr_shard_0.. (each with the
# extension) and a router database angzarr_router whose API functions PL/Proxy forwards to the
# shard owning the aggregate. All in one PostgreSQL cluster of its own (CLUSTER=shard, port
# SHARD_PORT, default 56200); production puts each shard on its own server and lists its
# connection string in angzarr_router.shards instead.
#   scripts/shard.sh up        create (or recreate) shards and router, generate the router
#   scripts/shard.sh router    regenerate the router's functions only (after an API change)
#   scripts/shard.sh url [DB]  the connection URL of the router (or of DB)
#   scripts/shard.sh down      stop the cluster
# Environment: SHARDS (power of two, default 4), SHARD_PORT, ANGZARR_SHARD_HOME, PG_CONFIG.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARDS="${SHARDS:-4}"
export PORT="${SHARD_PORT:-56200}"
export CLUSTER=shard
export ANGZARR_HOME="${ANGZARR_SHARD_HOME:-/var/lib/angzarr_shard}"
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
ROUTER=angzarr_router
# NOTICEs of DROP ... IF EXISTS are noise here.
export PGOPTIONS="-c client_min_messages=warning"

psql_q() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

# The router's functions, generated from shard 0's catalog and shard/routing.sql, replaced in
# one transaction so that callers never see a half-generated router.
generate_router() {
    local ddl
    ddl=$(psql_q -d angzarr_shard_0 -f shard/routing.sql -f shard/generate_router.sql)
    {
        echo "BEGIN;"
        echo "DROP SCHEMA IF EXISTS angzarr CASCADE; CREATE SCHEMA angzarr;"
        echo "DROP SCHEMA IF EXISTS angzarr_shard CASCADE; CREATE SCHEMA angzarr_shard;"
        echo "DROP SCHEMA IF EXISTS angzarr_fanout CASCADE; CREATE SCHEMA angzarr_fanout;"
        echo "GRANT USAGE ON SCHEMA angzarr, angzarr_shard, angzarr_fanout TO PUBLIC;"
        echo "$ddl"
        echo "COMMIT;"
        # What the client's version check reads on a router (it has no extension of its own).
        echo "ALTER DATABASE $ROUTER SET angzarr_router.extension_version = '$(psql_q -d angzarr_shard_0 -tAc \
            "SELECT extversion FROM pg_extension WHERE extname = 'angzarr_store'")';"
    } | psql_q -d "$ROUTER"
    echo "shard: router functions generated ($(psql_q -d "$ROUTER" -tAc \
        "SELECT count(*) FROM pg_proc WHERE pronamespace IN ('angzarr'::regnamespace, 'angzarr_shard'::regnamespace, 'angzarr_fanout'::regnamespace)") functions)"
}

up() {
    (( SHARDS > 0 && (SHARDS & (SHARDS - 1)) == 0 )) || { echo "shard: SHARDS=$SHARDS is not a power of two" >&2; exit 2; }
    bash scripts/cluster.sh start
    bash scripts/cluster.sh dropdb "$ROUTER" >/dev/null
    for ((k = 0; k < SHARDS; k++)); do
        bash scripts/cluster.sh createdb "angzarr_shard_$k" >/dev/null
    done
    # Shards of an earlier, larger run.
    for db in $(psql_q -d postgres -tAc "SELECT datname FROM pg_database WHERE datname ~ '^angzarr_shard_[0-9]+$' AND substr(datname, 15)::int >= $SHARDS"); do
        bash scripts/cluster.sh dropdb "$db" >/dev/null
    done
    psql_q -d postgres -c "CREATE DATABASE $ROUTER"
    psql_q -d "$ROUTER" -f shard/router_base.sql
    for ((k = 0; k < SHARDS; k++)); do
        psql_q -d "$ROUTER" -c "INSERT INTO angzarr_router.shards VALUES ($k, 'host=127.0.0.1 port=$PORT dbname=angzarr_shard_$k')"
    done
    generate_router
    echo "shard: $SHARDS shards and router on 127.0.0.1:$PORT; router: $(url $ROUTER)"
}

url() { echo "postgres://postgres@127.0.0.1:$PORT/${1:-$ROUTER}"; }

case "${1:-}" in
    up) up ;;
    router) generate_router ;;
    url) url "${2:-}" ;;
    down) bash scripts/cluster.sh stop ;;
    *) echo "usage: $0 up|router|url [DB]|down" >&2; exit 2 ;;
esac
