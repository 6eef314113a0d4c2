#!/usr/bin/env bash
# Tiers 3 and 4: multi-session tests (tests/), client integration tests (client/) and the
# client's examples against the dev cluster, in a fresh database.
#   scripts/test_client.sh                 all three
#   scripts/test_client.sh multi-session   only the multi-session tests (tests/), as the version
#                                          matrix runs them on PostgreSQL 17 and 18
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-55432}"
bash scripts/cluster.sh createdb angzarr_test >/dev/null
export ANGZARR_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/angzarr_test"
# The projection runner's restart test stops and starts this cluster in the middle of a run.
export ANGZARR_TEST_RESTART_COMMAND="bash $PWD/scripts/cluster.sh stop && bash $PWD/scripts/cluster.sh start >/dev/null"
# The client's optional features are tested too (the dev cluster speaks TLS).
features=angzarr_store_client/tls,angzarr_store_client/metrics,angzarr_store_client/testing
cargo_test=(cargo test --profile tests -p angzarr_store_tests -p angzarr_store_client --features "$features")
case "${1:-all}" in
    all) "${cargo_test[@]}" ;;
    multi-session)
        # The same packages and features as a full run, so the same build serves both; only
        # the test targets of tests/ run.
        for t in tests/tests/*.rs; do cargo_test+=(--test "$(basename "$t" .rs)"); done
        "${cargo_test[@]}"
        exit 0 ;;
    *) echo "usage: test_client.sh [multi-session]" >&2; exit 2 ;;
esac

# The examples are what users copy: each one runs to its end against the test database.
examples=(client/examples/*.rs)
for example in "${examples[@]}"; do
    name=$(basename "$example" .rs)
    echo "example $name"
    DATABASE_URL="$ANGZARR_TEST_DATABASE_URL" \
        cargo run --quiet --profile tests -p angzarr_store_client --features "$features" --example "$name" >/dev/null
done
echo "examples: ${#examples[@]} passed, 0 failed"
