#!/usr/bin/env bash
# Tiers 3 and 4: multi-session tests (tests/) and client integration tests (client/) against the
# dev cluster, in a fresh database.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-55432}"
bash scripts/cluster.sh createdb angzarr_test >/dev/null
export ANGZARR_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/angzarr_test"
# The projection runner's restart test stops and starts this cluster in the middle of a run.
export ANGZARR_TEST_RESTART_COMMAND="bash $PWD/scripts/cluster.sh stop && bash $PWD/scripts/cluster.sh start >/dev/null"
cargo test --release -p angzarr_store_tests -p angzarr_store_client \
    --features angzarr_store_client/tls,angzarr_store_client/metrics,angzarr_store_client/testing
