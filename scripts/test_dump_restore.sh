#!/usr/bin/env bash
# Backup and restore: fills a database with every kind of data the store keeps (events of many
# aggregates and editions, large and binary payloads, idempotent appends, and whatever other
# tables the extension has: positions, snapshots, editions), dumps it with pg_dump in custom and
# in plain format with default options, restores each into a fresh database (pg_restore, psql),
# and checks that every table's rows, the feed position counter and the privileges come back
# identical, that check_integrity() is clean, and that appends continue at the right sequence.
#   scripts/test_dump_restore.sh        (against the dev cluster, PORT 55432 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
PORT="${PORT:-55432}"
SRC=dump_source
AGGREGATES="${DUMP_AGGREGATES:-20000}"
work=$(mktemp -d /tmp/angzarr_dump.XXXXXX)
trap 'rm -rf "$work"' EXIT

q() { local db=$1; shift; "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -d "$db" "$@"; }
val() { q "$1" -tA -c "$2"; }
fail() { echo "test-dump: FAIL: $*" >&2; exit 1; }

bash scripts/cluster.sh createdb "$SRC" >/dev/null 2>&1

# Events: three hot aggregates with long streams, many one-event aggregates (more than the lock
# table holds, in several transactions), a named edition, correlation ids, idempotency keys,
# binary, JSON, empty and TOASTed payloads.
q "$SRC" >/dev/null <<'SQL'
SELECT angzarr.append_events('ledger', ('00000000-0000-0000-0000-00000000000' || h)::uuid,
         array_agg('Posted'::text ORDER BY i), array_agg(int8send(i) ORDER BY i),
         correlation_id => 'batch-' || h)
  FROM generate_series(1, 3) h, generate_series(1, 500) i GROUP BY h;
SELECT angzarr.append_events('ledger', '00000000-0000-0000-0000-000000000001',
         '[{"type": "Audited", "payload": {"by": "ops", "n": [1, 2, 3]}}]', idempotency_key => 'audit-1');
SELECT angzarr.append_events('ledger', '00000000-0000-0000-0000-000000000001',
         '[{"type": "Audited", "payload": {"by": "ops", "n": [1, 2, 3]}}]', idempotency_key => 'audit-1');
SELECT angzarr.append_events('blob', '00000000-0000-0000-0000-0000000000b0',
         ARRAY['Large', 'Empty', 'Binary'],
         ARRAY[convert_to(repeat('x', 1000000), 'UTF8'), ''::bytea, '\x00ff00fe0a0d'::bytea]);
SELECT angzarr.append_events('ledger', '00000000-0000-0000-0000-000000000002',
         '[{"type": "WhatIf"}, {"type": "WhatIfAgain"}]', edition => 'what-if');
-- A created edition sharing main's first 100 ledger events, snapshots (one superseded by a
-- later one, one kept), consumer positions and feed checkpoints.
SELECT angzarr.create_edition('replay', '{"ledger": 100}');
SELECT angzarr.append_events('ledger', '00000000-0000-0000-0000-000000000003', '[{"type": "Replayed"}]',
         edition => 'replay');
SELECT angzarr.put_snapshot('ledger', ('00000000-0000-0000-0000-00000000000' || h)::uuid, s,
         int8send(s), retention => r::angzarr.snapshot_retention, state_type => 'LedgerState')
  FROM generate_series(1, 3) h, (VALUES (99, 'persist'), (450, 'default'), (451, 'default')) v(s, r);
SELECT angzarr.save_position('ledger', ('00000000-0000-0000-0000-00000000000' || r)::uuid, h, 10 * r)
  FROM unnest(ARRAY['projector', 'saga']) h, generate_series(1, 3) r;
SELECT angzarr.save_feed_position('projector', f.feed_tx, f.global_position)
  FROM (SELECT * FROM angzarr.read_feed(0, 0, 700) ORDER BY feed_tx DESC, global_position DESC LIMIT 1) f;
SQL
for chunk in $(seq 0 $(( (AGGREGATES + 4999) / 5000 - 1 ))); do
    lo=$((chunk * 5000 + 1)); hi=$(( (chunk + 1) * 5000 < AGGREGATES ? (chunk + 1) * 5000 : AGGREGATES ))
    q "$SRC" -c "INSERT INTO angzarr.events (domain, root, event_type, payload, correlation_id)
                 SELECT 'many', md5(i::text)::uuid, 'Created', int4send(i), 'c' || (i % 97)
                   FROM generate_series($lo, $hi) i"
done

tables=$(val "$SRC" "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
                     WHERE c.relnamespace = 'angzarr'::regnamespace AND c.relkind IN ('r', 'p')")
# One line per table (row count and a digest of every column of every row), the counter, and
# every role's privileges on every object of the extension.
fingerprint() {
    local db=$1 t
    for t in $tables; do
        val "$db" "SELECT '$t', count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), ''))
                     FROM angzarr.\"$t\" x"
    done
    val "$db" "SELECT 'feed', count(*), md5(string_agg(format('%s %s %s %s %s %s', f.feed_tx, f.global_position,
                 f.domain, f.edition, f.root, f.sequence), E'\n' ORDER BY f.feed_tx, f.global_position))
                 FROM angzarr.read_feed(0, 0, NULL) f"
    val "$db" "SELECT 'position counter', last_value, is_called FROM angzarr.events_global_position_seq"
    val "$db" "SELECT 'grants', md5(string_agg(x, E'\n' ORDER BY x)) FROM (
                 SELECT r.r || ' fn ' || p.oid::regprocedure::text || ' ' || has_function_privilege(r.r, p.oid, 'EXECUTE') AS x
                   FROM pg_proc p, (VALUES ('angzarr_reader'), ('angzarr_writer'), ('angzarr_admin')) r(r)
                  WHERE p.pronamespace = 'angzarr'::regnamespace
                 UNION ALL
                 SELECT r.r || ' rel ' || c.relname || ' ' || has_table_privilege(r.r, c.oid, m.m) || ' ' || m.m
                   FROM pg_class c, (VALUES ('angzarr_reader'), ('angzarr_writer'), ('angzarr_admin')) r(r),
                        (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) m(m)
                  WHERE c.relnamespace = 'angzarr'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')) g"
}
fingerprint "$SRC" >"$work/source.txt"
edition_next=$(val "$SRC" "SELECT angzarr.next_sequence('ledger', '00000000-0000-0000-0000-000000000002', 'what-if')")
grep -q "^events|$((1500 + 1 + 3 + 2 + 1 + AGGREGATES))|" "$work/source.txt" \
    || fail "the source has an unexpected number of events: $(grep '^events' "$work/source.txt")"
[ -z "$(val "$SRC" "SELECT * FROM angzarr.check_integrity()")" ] || fail "the source database is not healthy"

"$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PORT" -U postgres -Fc -f "$work/store.dump" "$SRC"
"$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PORT" -U postgres -Fp -f "$work/store.sql" "$SRC"
grep -q 'CREATE EXTENSION IF NOT EXISTS angzarr_store' "$work/store.sql" || fail "the dump does not create the extension"

restore_and_check() {
    local format=$1 db="dump_restored_$1"
    bash scripts/cluster.sh dropdb "$db" >/dev/null 2>&1
    q postgres -c "CREATE DATABASE $db"
    if [ "$format" = custom ]; then
        "$PG_BIN/pg_restore" -h 127.0.0.1 -p "$PORT" -U postgres -d "$db" "$work/store.dump" 2>"$work/$format.err" \
            || { cat "$work/$format.err"; fail "pg_restore failed"; }
    else
        q "$db" -f "$work/store.sql" >/dev/null 2>"$work/$format.err" || { cat "$work/$format.err"; fail "psql restore failed"; }
    fi
    [ ! -s "$work/$format.err" ] || { cat "$work/$format.err"; fail "$format restore printed errors"; }
    fingerprint "$db" >"$work/$format.txt"
    diff "$work/source.txt" "$work/$format.txt" || fail "$format restore differs from the source (above: < source, > restored)"
    [ -z "$(val "$db" "SELECT * FROM angzarr.check_integrity()")" ] || fail "$format restore: check_integrity() found problems"
    # Appends continue where the source stopped, with fresh feed positions after the old ones.
    local got
    got=$(val "$db" "SELECT first_sequence || ' ' || last_sequence FROM angzarr.append_events('ledger',
                       '00000000-0000-0000-0000-000000000001', '[{\"type\": \"AfterRestore\"}]', expected_sequence => 501)")
    [ "$got" = "501 501" ] || fail "$format restore: append to a hot aggregate got '$got', wanted '501 501'"
    got=$(val "$db" "SELECT first_sequence FROM angzarr.append_events('many', md5('7')::uuid,
                       '[{\"type\": \"AfterRestore\"}]', expected_sequence => 1)")
    [ "$got" = "1" ] || fail "$format restore: append to a one-event aggregate got '$got', wanted 1"
    got=$(val "$db" "SELECT first_sequence FROM angzarr.append_events('ledger',
                       '00000000-0000-0000-0000-000000000001', '[{\"type\": \"Audited\"}]', idempotency_key => 'audit-1')")
    [ "$got" = "500" ] || fail "$format restore: an idempotent retry got '$got', wanted the original 500"
    got=$(val "$db" "SELECT first_sequence FROM angzarr.append_events('ledger',
                       '00000000-0000-0000-0000-000000000002', '[{\"type\": \"WhatIf3\"}]', edition => 'what-if', expected_sequence => $edition_next)")
    [ "$got" = "$edition_next" ] || fail "$format restore: append to the named edition got '$got', wanted $edition_next"
    # Checkpoints continue from the restored ones.
    got=$(val "$db" "SELECT angzarr.save_position('ledger', '00000000-0000-0000-0000-000000000001', 'projector', 5)")
    [ "$got" = "10" ] || fail "$format restore: a consumer position moved back to '$got'"
    got=$(val "$db" "SELECT sequence FROM angzarr.get_snapshot('ledger', '00000000-0000-0000-0000-000000000002')")
    [ "$got" = "451" ] || fail "$format restore: the newest snapshot is at '$got', wanted 451"
    got=$(val "$db" "SELECT count(*) FROM angzarr.append_events('ledger', '00000000-0000-0000-0000-000000000003',
                       '[{\"type\": \"Stale\"}]', expected_sequence => 499)" 2>&1 || true)
    case "$got" in *"sequence conflict"*) ;; *) fail "$format restore: a stale append was not refused: $got" ;; esac
    got=$(val "$db" "SELECT min(global_position) > (SELECT max(global_position) FROM angzarr.events WHERE event_type NOT IN ('AfterRestore', 'WhatIf3'))
                       FROM angzarr.events WHERE event_type IN ('AfterRestore', 'WhatIf3')")
    [ "$got" = "t" ] || fail "$format restore: new events got feed positions below the restored ones"
    [ -z "$(val "$db" "SELECT * FROM angzarr.check_integrity()")" ] || fail "$format restore: check_integrity() found problems after appending"
    echo "test-dump: $format format: $(grep -c . "$work/$format.txt") tables/checks identical, appends continue"
    bash scripts/cluster.sh dropdb "$db" >/dev/null 2>&1
}
restore_and_check custom
restore_and_check plain
bash scripts/cluster.sh dropdb "$SRC" >/dev/null 2>&1
echo "test-dump: 2 passed, 0 failed"
