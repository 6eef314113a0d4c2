#!/usr/bin/env bash
# The sharded deployment's tier: brings up 4 shards and the PL/Proxy router (scripts/shard.sh,
# port SHARD_PORT, default 56200), checks that the router generator refuses an API function
# without a routing rule, then runs the multi-session contract tests through the router
# (tests/tests/shard_router.rs) and the client's sharded store and feed tests
# (client/tests/shard.rs). Stops the shard cluster at the end.
#   scripts/test_shard.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export SHARD_PORT="${SHARD_PORT:-56200}"
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
trap 'bash scripts/shard.sh down' EXIT
SHARDS=4 bash scripts/shard.sh up

# A new API function without a row in shard/routing.sql must stop the generator.
psql_q() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$SHARD_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS angzarr_shard_catalog_check" -c "CREATE DATABASE angzarr_shard_catalog_check"
psql_q -d angzarr_shard_catalog_check -c "CREATE EXTENSION angzarr_store" \
    -c "CREATE FUNCTION angzarr.brand_new_api(domain text, root uuid) RETURNS int LANGUAGE sql RETURN 1"
if out=$(psql_q -d angzarr_shard_catalog_check -f shard/routing.sql -f shard/generate_router.sql 2>&1); then
    echo "test_shard: the generator accepted an API function without a routing rule" >&2
    exit 1
fi
grep -q "API functions without a rule: brand_new_api" <<<"$out" || { echo "test_shard: unexpected generator error: $out" >&2; exit 1; }
psql_q -d postgres -c "DROP DATABASE angzarr_shard_catalog_check"
echo "test_shard: the generator refuses an API function without a routing rule"

export ANGZARR_TEST_ROUTER_URL
ANGZARR_TEST_ROUTER_URL="$(bash scripts/shard.sh url)"
# The same profile and features as scripts/test_client.sh, so make test builds these once.
features=angzarr_store_client/tls,angzarr_store_client/metrics,angzarr_store_client/testing
cargo test --release -p angzarr_store_tests -p angzarr_store_client --features "$features" \
    --test shard_router --test shard -- --ignored
