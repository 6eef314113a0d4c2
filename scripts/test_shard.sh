#!/usr/bin/env bash
# The sharded deployment's tier: brings up 4 shards and the PL/Proxy router (scripts/shard.sh,
# port SHARD_PORT, default 56200), checks that the router generator refuses an API function
# without a routing rule, then runs the multi-session contract tests through the router
# (tests/tests/shard_router.rs) and the client's sharded store and feed tests
# (client/tests/shard.rs); then grows the deployment to 8 shards (scripts/shard_split.sh),
# checks that every event, snapshot and position is still there exactly once and on the shard
# its hash names, that moved aggregates continue their sequences through the router, and runs
# the tests again on 8 shards. Stops the shard cluster at the end.
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
run_tests() {
    cargo test --release -p angzarr_store_tests -p angzarr_store_client --features "$features" \
        --test shard_router --test shard -- --ignored
}
run_tests

# Everything every shard holds, one line per row, sorted: equal before and after a split when
# nothing was lost or copied twice.
fingerprint() {
    local n k
    n=$(psql_q -d angzarr_router -tAc "SELECT count(*) FROM angzarr_router.shards")
    for ((k = 0; k < n; k++)); do
        psql_q -d "angzarr_shard_$k" -tAc "
            COPY (SELECT domain, edition, root, sequence, event_type, md5(payload), id, created_at, correlation_id,
                         idempotency_key FROM angzarr.events) TO STDOUT;
            COPY (SELECT 's', domain, edition, root, sequence, md5(state), state_type, retention FROM angzarr.snapshots) TO STDOUT;
            COPY (SELECT 'p', handler, domain, edition, root, sequence FROM angzarr.positions) TO STDOUT"
    done | sort | md5sum
}
psql_q -d angzarr_router -tAc "SELECT format('SELECT 1 FROM angzarr.append_events(''splitcheck'', %L, ''[{\"type\": \"A\"}]'');',
                                             ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid)
                                 FROM generate_series(1, 64) n" | psql_q -d angzarr_router >/dev/null
before=$(fingerprint)
bash scripts/shard_split.sh
[ "$(fingerprint)" = "$before" ] || { echo "test_shard: the split lost or duplicated rows" >&2; exit 1; }
for ((j = 0; j < 8; j++)); do
    misplaced=$(psql_q -d "angzarr_shard_$j" -tAc "SELECT count(*) FROM angzarr.events t
        WHERE (('x' || left(md5(t.domain || ':' || t.root::text), 8))::bit(32)::integer & 7) <> $j")
    [ "$misplaced" = 0 ] || { echo "test_shard: shard $j holds $misplaced events of other shards" >&2; exit 1; }
done
continued=$(psql_q -d angzarr_router -tAc "SELECT format('SELECT first_sequence FROM angzarr.append_events(''splitcheck'', %L, ''[{\"type\": \"B\"}]'', expected_sequence => 1);',
                                             ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid)
                                 FROM generate_series(1, 64) n" | psql_q -d angzarr_router -tA | sort | uniq -c | tr -s ' ')
[ "$continued" = " 64 1" ] || { echo "test_shard: moved aggregates did not continue: $continued" >&2; exit 1; }
echo "test_shard: split to 8 shards kept every row once, on its shard; 64 aggregates continued through the router"
run_tests
