#!/usr/bin/env bash
# `make shard-demo`: brings up 4 shards and the PL/Proxy router (scripts/shard.sh up, port
# SHARD_PORT, default 56200), then runs shard/demo.sql through the router with psql.
#   scripts/shard_demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
SHARDS=4 bash scripts/shard.sh up
echo
"$PG_BIN/psql" -X -h 127.0.0.1 -p "${SHARD_PORT:-56200}" -U postgres -d angzarr_router -f shard/demo.sql 2>&1
echo
echo "The shards keep running: psql $(bash scripts/shard.sh url); bash scripts/shard.sh down to stop."
