#!/usr/bin/env bash
# Tier 2: pg_regress golden tests. Every pg_test/sql/NAME.sql runs in a fresh database of its
# own against the dev cluster and must print exactly pg_test/expected/NAME.out.
#   scripts/test_regress.sh [NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PORT="${PORT:-55432}"
REGRESS="$($PG_CONFIG --pkglibdir)/pgxs/src/test/regress/pg_regress"
work=$(mktemp -d /tmp/angzarr_regress.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r pg_test/sql pg_test/expected "$work/"
mkdir -p "$work/results"
chown -R postgres: "$work"
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=($(ls pg_test/sql | sed -n 's/\.sql$//p' | sort))
failed=0
for t in "${tests[@]}"; do
    db="regress_$t"
    bash scripts/cluster.sh createdb "$db" >/dev/null
    if ! runuser -u postgres -- "$REGRESS" --use-existing --host=127.0.0.1 --port="$PORT" --user=postgres \
        --inputdir="$work" --outputdir="$work" --dbname="$db" "$t" \
        >"$work/$t.log" 2>&1; then
        failed=$((failed + 1))
        cat "$work/$t.log"
        [ -f "$work/regression.diffs" ] && cat "$work/regression.diffs"
        if [ -n "${REGRESS_ACCEPT:-}" ]; then cp "$work/results/$t.out" "pg_test/expected/$t.out"; fi
    else
        grep -E '^(ok|not ok)' "$work/$t.log" || true
    fi
    rm -f "$work/regression.diffs"
done
total=${#tests[@]}
echo "pg_regress: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
