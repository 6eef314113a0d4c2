#!/usr/bin/env bash
# `make demo`, after the extension is installed and the dev cluster runs: the psql session
# from README, then the Rust example program against the same database.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-55432}"
url="postgres://postgres@127.0.0.1:$PORT/angzarr"
echo "== psql: appends, a refused stale write, reads =="
psql -X -h 127.0.0.1 -p "$PORT" -U postgres -d angzarr -f demo/demo.sql 2>&1
if [ -f client/examples/bank_account.rs ]; then
    echo
    echo "== Rust client: cargo run -p angzarr_store_client --example bank_account =="
    DATABASE_URL="$url" cargo run --quiet --profile tests -p angzarr_store_client --example bank_account
fi
echo
echo "The cluster keeps running: make psql (or psql $url), make stop to stop it."
