#!/usr/bin/env bash
# Torture: a seeded randomized multi-session workload (appends to hot and cold aggregates,
# multi-aggregate transactions, savepoints, rollbacks, idempotent retries, snapshots,
# positions, feed readers), then every invariant is checked (tests/src/bin/torture.rs).
#   scripts/test_torture.sh                              short run (part of make test)
#   TORTURE_TRANSACTIONS=5000 scripts/test_torture.sh    long run
#   TORTURE_SEED=1234 scripts/test_torture.sh            replay a failing seed
# Runs in a fresh database `torture` on the dev cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-55432}"
args=(--transactions "${TORTURE_TRANSACTIONS:-150}")
[ -z "${TORTURE_SEED:-}" ] || args+=(--seed "$TORTURE_SEED")
cargo build --profile tests -q -p angzarr_store_tests --bin torture
bash scripts/cluster.sh createdb torture >/dev/null 2>&1
target/tests/torture "${args[@]}" --url "postgres://postgres@127.0.0.1:$PORT/torture"
