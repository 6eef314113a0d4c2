#!/usr/bin/env bash
# Checks the book and README against the installed extension: every angzarr.NAME they mention
# exists, every named argument and every signature matches the catalog (scripts/docs_check.py
# api), in a fresh database of the dev cluster.
#   bash scripts/test_docs.sh          (PG_CONFIG, PORT as for the other test scripts)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PORT="${PORT:-55432}"
bash scripts/cluster.sh createdb docs_check >/dev/null
python3 scripts/docs_check.py api "$("$PG_CONFIG" --bindir)/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d docs_check
bash scripts/cluster.sh dropdb docs_check >/dev/null
