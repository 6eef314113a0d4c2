#!/usr/bin/env bash
# Bounded fuzzing of the EventBook decoder (make fuzz), in two passes:
#  1. in-process: fuzz/ compiles the extension's pure decoder (src/wire/codec.rs, json.rs)
#     without pgrx and runs seeded mutations for FUZZ_SECONDS (default 60): no input may panic;
#  2. through SQL: FUZZ_SQL_INPUTS (default 3000) mutated books go to append_event_book(),
#     event_book_to_json() and _decode_event_book() on the dev cluster; every call must succeed
#     or fail with a proper SQLSTATE (never XX000), and the server must stay up.
#   FUZZ_SEED=N scripts/fuzz.sh      replays a run
set -euo pipefail
cd "$(dirname "$0")/.."
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
PORT="${PORT:-55432}"
seed="${FUZZ_SEED:-$(( RANDOM * 32768 + RANDOM ))}"
cargo build --release -q --manifest-path fuzz/Cargo.toml
fuzz/target/release/angzarr_store_fuzz --seconds "${FUZZ_SECONDS:-60}" --seed "$seed"

work=$(mktemp -d /tmp/angzarr_fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
fuzz/target/release/angzarr_store_fuzz --emit "${FUZZ_SQL_INPUTS:-3000}" --seed "$seed" >"$work/inputs.hex"
bash scripts/cluster.sh createdb fuzz >/dev/null 2>&1
q() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -d fuzz "$@"; }
q <<SQL
\set SHOW_CONTEXT never
CREATE TABLE fuzz_inputs (n serial PRIMARY KEY, hex text NOT NULL);
\copy fuzz_inputs (hex) FROM '$work/inputs.hex'
CREATE TABLE fuzz_outcomes (n int, call text, sqlstate text, message text);
DO \$\$
DECLARE
    i record;
    st text;
    msg text;
    book bytea;
BEGIN
    FOR i IN SELECT n, decode(hex, 'hex') AS b FROM fuzz_inputs ORDER BY n LOOP
        book := i.b;
        BEGIN
            PERFORM angzarr.append_event_book(book);
            st := 'ok'; msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        INSERT INTO fuzz_outcomes VALUES (i.n, 'append_event_book', st, msg);
        BEGIN
            PERFORM angzarr.event_book_to_json(book);
            st := 'ok'; msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        INSERT INTO fuzz_outcomes VALUES (i.n, 'event_book_to_json', st, msg);
        BEGIN
            PERFORM count(*) FROM angzarr._decode_event_book(book);
            st := 'ok'; msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        INSERT INTO fuzz_outcomes VALUES (i.n, '_decode_event_book', st, msg);
    END LOOP;
END
\$\$;
SQL
echo "fuzz: SQL pass over $(wc -l <"$work/inputs.hex") inputs (seed $seed):"
q -c "SELECT call, sqlstate, count(*) FROM fuzz_outcomes GROUP BY 1, 2 ORDER BY 1, 2"
bad=$(q -tA -c "SELECT count(*) FROM fuzz_outcomes WHERE sqlstate = 'XX000' OR sqlstate LIKE '58%'")
if [ "$bad" != 0 ]; then
    q -c "SELECT o.call, o.message, i.hex FROM fuzz_outcomes o JOIN fuzz_inputs i USING (n)
           WHERE o.sqlstate = 'XX000' OR o.sqlstate LIKE '58%' ORDER BY o.n LIMIT 5"
    echo "fuzz: FAILED: $bad calls ended in an internal error (seed $seed)" >&2
    exit 1
fi
[ -z "$(q -tA -c "SELECT * FROM angzarr.check_integrity()")" ] || { echo "fuzz: FAILED: check_integrity() after the SQL pass" >&2; exit 1; }
bash scripts/cluster.sh dropdb fuzz >/dev/null 2>&1
echo "fuzz: 2 passed, 0 failed"
