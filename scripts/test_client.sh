#!/usr/bin/env bash
# Tiers 3 and 4: multi-session tests (tests/) and client integration tests (client/) against the
# dev cluster, in a fresh database.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-55432}"
bash scripts/cluster.sh createdb angzarr_test >/dev/null
export ANGZARR_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/angzarr_test"
cargo test --release -p angzarr_store_tests -p angzarr_store_client
