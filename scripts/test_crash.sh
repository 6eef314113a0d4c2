#!/usr/bin/env bash
# Crash safety: kills a dedicated PostgreSQL cluster with SIGKILL (postmaster and every backend)
# while 8 writers append, restarts it, and checks every acknowledged append is there, none is
# partial, sequences are gap-free and appends continue (tests/src/bin/crash.rs).
#   scripts/test_crash.sh                     20 cycles
#   CRASH_CYCLES=100 CRASH_SEED=42 scripts/test_crash.sh
# The cluster is its own (CLUSTER=crash, PORT 55450 by default), never the dev cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLUSTER="${CRASH_CLUSTER:-crash}"
export PORT="${CRASH_PORT:-55450}"
HOME_DIR="${ANGZARR_HOME:-/var/lib/angzarr_store}"
cycles="${CRASH_CYCLES:-20}"
seed_args=()
[ -z "${CRASH_SEED:-}" ] || seed_args=(--seed "$CRASH_SEED")

cargo build --profile tests -q -p angzarr_store_tests --bin crash
bash scripts/cluster.sh start >/dev/null
trap 'bash scripts/cluster.sh stop' EXIT
bash scripts/cluster.sh createdb crash >/dev/null
target/tests/crash --cycles "$cycles" "${seed_args[@]}" \
    --data "$HOME_DIR/$CLUSTER/data" --url "postgres://postgres@127.0.0.1:$PORT/crash" \
    --cluster-script scripts/cluster.sh
