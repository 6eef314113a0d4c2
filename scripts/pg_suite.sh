#!/usr/bin/env bash
# Runs PostgreSQL's own test drivers against the dev cluster, each test in a fresh database of
# its own (with the extension) that must print exactly pg_test/expected/NAME.out.
#   scripts/pg_suite.sh regress   [NAME ...]   pg_regress:       pg_test/sql/NAME.sql
#   scripts/pg_suite.sh isolation [NAME ...]   isolation tester: pg_test/specs/NAME.spec
# REGRESS_ACCEPT=1 copies the actual output of a failing test over its expected file.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PORT="${PORT:-55432}"
kind="${1:?usage: pg_suite.sh regress|isolation [NAME ...]}"
shift
case "$kind" in
    regress) driver=regress/pg_regress; inputs=sql; ext=sql; label=pg_regress ;;
    isolation) driver=isolation/pg_isolation_regress; inputs=specs; ext=spec; label=isolation ;;
    *) echo "pg_suite.sh: unknown kind $kind" >&2; exit 2 ;;
esac
DRIVER="$($PG_CONFIG --pkglibdir)/pgxs/src/test/$driver"
work=$(mktemp -d "/tmp/angzarr_$kind.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/expected" "$work/results"
cp -r "pg_test/$inputs" "$work/"
cp pg_test/expected/*.out "$work/expected/" 2>/dev/null || true
chown -R postgres: "$work"
tests=("$@")
[ ${#tests[@]} -gt 0 ] || mapfile -t tests < <(ls "pg_test/$inputs" | sed -n "s/\.$ext\$//p" | sort)
failed=0
for t in "${tests[@]}"; do
    db="${kind}_$t"
    bash scripts/cluster.sh createdb "$db" >/dev/null
    if ! runuser -u postgres -- "$DRIVER" --use-existing --host=127.0.0.1 --port="$PORT" --user=postgres \
        --inputdir="$work" --outputdir="$work" --dbname="$db" "$t" >"$work/$t.log" 2>&1; then
        failed=$((failed + 1))
        cat "$work/$t.log"
        [ -f "$work/regression.diffs" ] && cat "$work/regression.diffs"
        if [ -n "${REGRESS_ACCEPT:-}" ]; then cp "$work/results/$t.out" "pg_test/expected/$t.out"; fi
    else
        grep -E '^(ok|not ok)' "$work/$t.log" || true
    fi
    rm -f "$work/regression.diffs"
done
echo "$label: $((${#tests[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
