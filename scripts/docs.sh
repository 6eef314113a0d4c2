#!/usr/bin/env bash
# Builds the book (docs/, mdBook) into target/book with the client's API docs (rustdoc) under
# target/book/rustdoc, then checks it: missing includes, broken internal links, pasted psql
# output and SQLSTATEs that the code does not raise fail the build. Needs no server or network.
#   MDBOOK=/path/to/mdbook bash scripts/docs.sh      (`make docs` installs mdBook and calls this)
set -euo pipefail
cd "$(dirname "$0")/.."
MDBOOK="${MDBOOK:-mdbook}"
rm -rf target/book
# mdBook logs a failed include and carries on; docs_check.py turns that into a failure.
"$MDBOOK" build docs
cargo doc --quiet --no-deps -p angzarr_store_client
cp -r target/doc target/book/rustdoc
python3 scripts/docs_check.py book
python3 scripts/docs_check.py code
echo "docs: target/book/index.html"
