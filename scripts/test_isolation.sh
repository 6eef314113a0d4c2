#!/usr/bin/env bash
# Tier 3: isolation tests. Every pg_test/specs/NAME.spec drives several real sessions through a
# fixed interleaving in a fresh database and must print exactly pg_test/expected/NAME.out.
#   scripts/test_isolation.sh [NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PORT="${PORT:-55432}"
ISOLATION="$($PG_CONFIG --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress"
work=$(mktemp -d /tmp/angzarr_isolation.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/specs" "$work/expected" "$work/results"
cp pg_test/specs/*.spec "$work/specs/"
cp pg_test/expected/*.out "$work/expected/" 2>/dev/null || true
chown -R postgres: "$work"
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=($(ls pg_test/specs | sed -n 's/\.spec$//p' | sort))
failed=0
for t in "${tests[@]}"; do
    db="isolation_$t"
    bash scripts/cluster.sh createdb "$db" >/dev/null
    if ! runuser -u postgres -- "$ISOLATION" --use-existing --host=127.0.0.1 --port="$PORT" --user=postgres \
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
echo "isolation: $(( ${#tests[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
