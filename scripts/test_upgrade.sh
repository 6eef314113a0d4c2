#!/usr/bin/env bash
# Upgrades: installs the previous release (the frozen script in sql/releases/), writes data,
# runs ALTER EXTENSION angzarr_store UPDATE, then checks that the data is intact, that the
# upgraded schema is exactly a fresh install's (scripts/schema_fingerprint.sql), that appends
# continue, and runs the whole pg_regress suite on upgraded databases. Also: released files
# are unchanged (scripts/release.sh check), and when the current version is itself released,
# the built extension still creates exactly the frozen schema.
# Before the first release is frozen there is nothing to upgrade from: the upgrade path is then
# exercised with the current build standing in for the previous release.
#   scripts/test_upgrade.sh [REGRESS_TEST ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
PG_BIN="$($PG_CONFIG --bindir)"
PORT="${PORT:-55432}"
EXT=angzarr_store
EXTDIR="$($PG_CONFIG --sharedir)/extension"
REGRESS="$($PG_CONFIG --pkglibdir)/pgxs/src/test/regress/pg_regress"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
work=$(mktemp -d /tmp/angzarr_upgrade.XXXXXX)
placed=()
cleanup() { rm -rf "$work"; for f in "${placed[@]}"; do rm -f "$f"; done; }
trap cleanup EXIT

q() { local db=$1; shift; "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -d "$db" "$@"; }
val() { q "$1" -tA -c "$2"; }
fail() { echo "test-upgrade: FAIL: $*" >&2; exit 1; }
fresh_db() { bash scripts/cluster.sh dropdb "$1" >/dev/null 2>&1; q postgres -c "CREATE DATABASE \"$1\""; }
# Installs the extension at version $2 in a fresh database $1 and updates it to the default.
upgraded_db() {
    fresh_db "$1"
    q "$1" -c "CREATE EXTENSION $EXT VERSION '$2'" -c "ALTER EXTENSION $EXT UPDATE"
}
fingerprint() { q "$1" -tA -f scripts/schema_fingerprint.sql; }
place() { cp "$1" "$2"; placed+=("$2"); }

bash scripts/release.sh check
[ -f "$EXTDIR/$EXT--$version.sql" ] || fail "$EXT $version is not installed; run make install"
fresh_db upgrade_fresh
q upgrade_fresh -c "CREATE EXTENSION $EXT"
fingerprint upgrade_fresh >"$work/fresh.txt"

# A released current version must still build into exactly its frozen schema.
if [ -f "sql/releases/$EXT--$version.sql" ]; then
    place "sql/releases/$EXT--$version.sql" "$EXTDIR/$EXT--frozen_check.sql"
    fresh_db upgrade_frozen
    q upgrade_frozen -c "CREATE EXTENSION $EXT VERSION 'frozen_check'"
    fingerprint upgrade_frozen >"$work/frozen.txt"
    diff "$work/frozen.txt" "$work/fresh.txt" >"$work/frozen.diff" || {
        cat "$work/frozen.diff"
        fail "released $version changed (< frozen, > built): bump the version in Cargo.toml and move the change into sql/$EXT--$version--NEW.sql"
    }
    echo "test-upgrade: the built $version is identical to the frozen release"
    bash scripts/cluster.sh dropdb upgrade_frozen >/dev/null 2>&1
fi

# The newest release older than the current version.
from=''
for r in $(bash scripts/release.sh releases); do
    if [ "$r" != "$version" ] && [ "$(printf '%s\n%s\n' "$r" "$version" | sort -V | head -1)" = "$r" ]; then
        from=$r
    fi
done
if [ -n "$from" ]; then
    place "sql/releases/$EXT--$from.sql" "$EXTDIR/$EXT--$from.sql"
    echo "test-upgrade: upgrading from the released $from to $version"
else
    # No earlier release: the current build stands in for it, with an empty upgrade script.
    from=upgrade_selftest
    place "$EXTDIR/$EXT--$version.sql" "$EXTDIR/$EXT--$from.sql"
    printf '%s\n' "\\echo Use \"ALTER EXTENSION $EXT UPDATE\" to load this file. \\quit" >"$work/up.sql"
    place "$work/up.sql" "$EXTDIR/$EXT--$from--$version.sql"
    echo "test-upgrade: no release before $version is frozen yet; exercising the upgrade path with the current build as '$from'"
fi

# Data written by the old version survives the update untouched. It covers every table and
# every kind of row: events on main and in several editions (created by sequence, created by
# time, implicit), plain INSERTs with their own created_at, correlation ids, idempotent appends,
# consumer positions on main and in an edition, snapshots of every retention, feed checkpoints.
# Calls use named arguments, which every version since 0.1.0 accepts in any order.
fresh_db upgrade_data
q upgrade_data -c "CREATE EXTENSION $EXT VERSION '$from'"
q upgrade_data >/dev/null <<'SQL'
SELECT angzarr.append_events('acct', ('00000000-0000-0000-0000-00000000000' || i)::uuid,
         array_agg('Posted'::text ORDER BY n), array_agg(int4send(n) ORDER BY n), correlation_id => 'c' || i)
  FROM generate_series(1, 5) i, generate_series(1, 50) n GROUP BY i;
SELECT angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "Keyed"}]',
         idempotency_key => 'k1');
-- The same key again: nothing written, the first range returned.
SELECT angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "Keyed"}]',
         idempotency_key => 'k1');
INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', '00000000-0000-0000-0000-000000000002', 'Direct', '\x');
INSERT INTO angzarr.events (domain, root, event_type, payload, correlation_id, created_at)
VALUES ('order', '00000000-0000-0000-0000-00000000000a', 'Placed', convert_to('{"n": 1}', 'UTF8'), 'flow-1', '2024-01-10 00:00Z'),
       ('order', '00000000-0000-0000-0000-00000000000a', 'Paid', '\x01', 'flow-1', '2024-02-10 00:00Z'),
       ('order', '00000000-0000-0000-0000-00000000000a', 'Shipped', '\x02', NULL, '2024-03-10 00:00Z');
-- Editions: created with a point per domain, created by time, and used without being created.
SELECT angzarr.create_edition('what-if', '{"acct": 10}');
SELECT angzarr.append_events(domain => 'acct', root => '00000000-0000-0000-0000-000000000001',
         events => '[{"type": "WhatIf", "payload": {"x": 1}}, {"type": "WhatIf2"}]', edition => 'what-if',
         correlation_id => 'flow-1', idempotency_key => 'k-what-if');
SELECT angzarr.create_edition('by-time', diverged_at => '2024-02-01 00:00Z');
SELECT angzarr.append_events(domain => 'order', root => '00000000-0000-0000-0000-00000000000a',
         events => '[{"type": "Rerouted"}]', edition => 'by-time');
SELECT angzarr.append_events(domain => 'acct', root => '00000000-0000-0000-0000-000000000003',
         events => '[{"type": "Implicit"}]', edition => 'implicit', expected_sequence => 50);
-- Positions and snapshots, on main and in an edition, every retention.
SELECT angzarr.save_position(handler => 'projector', domain => 'acct', root => '00000000-0000-0000-0000-000000000001', sequence => 20);
SELECT angzarr.save_position(handler => 'saga', domain => 'order', root => '00000000-0000-0000-0000-00000000000a', sequence => 2);
SELECT angzarr.save_position(handler => 'projector', domain => 'acct', root => '00000000-0000-0000-0000-000000000001',
         sequence => 11, edition => 'what-if');
SELECT angzarr.put_snapshot(domain => 'acct', root => '00000000-0000-0000-0000-000000000001', sequence => 10, state => '\x0a');
SELECT angzarr.put_snapshot(domain => 'acct', root => '00000000-0000-0000-0000-000000000002', sequence => 40, state => '\x28',
         retention => 'persist', state_type => 'examples.Acct');
SELECT angzarr.put_snapshot(domain => 'acct', root => '00000000-0000-0000-0000-000000000003', sequence => 49, state => '\x31',
         retention => 'transient');
SELECT angzarr.put_snapshot(domain => 'acct', root => '00000000-0000-0000-0000-000000000001', sequence => 11, state => '\x0b',
         edition => 'what-if', retention => 'persist');
-- Feed checkpoints: one at the newest event, one part-way.
SELECT angzarr.save_feed_position('billing', e.feed_tx, e.global_position)
  FROM angzarr.events e ORDER BY e.feed_tx DESC, e.global_position DESC LIMIT 1;
SELECT angzarr.save_feed_position('audit', e.feed_tx, e.global_position)
  FROM angzarr.events e ORDER BY e.feed_tx, e.global_position OFFSET 100 LIMIT 1;
SQL
tables=$(val upgrade_data "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
                          WHERE c.relnamespace = 'angzarr'::regnamespace AND c.relkind = 'r'")
for t in $tables; do
    [ "$(val upgrade_data "SELECT count(*) > 0 FROM angzarr.\"$t\"")" = t ] || fail "the data before the update leaves angzarr.$t empty: write some"
done
digest() {
    local t
    for t in $tables; do
        val upgrade_data "SELECT '$t', count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM angzarr.\"$t\" x"
    done
    # The same rows as the API returns them, with calls and columns every version shares.
    val upgrade_data "SELECT 'read_stream', md5(string_agg(s::text, E'\n' ORDER BY a.domain, a.edition, a.root, s.sequence))
                        FROM (SELECT DISTINCT domain, edition, root FROM angzarr.events) a,
                             angzarr.read_stream(domain => a.domain, root => a.root, edition => a.edition) s"
    val upgrade_data "SELECT 'load_aggregate', md5(string_agg(l::text, E'\n' ORDER BY a.domain, a.edition, a.root, l.kind, l.sequence))
                        FROM (SELECT DISTINCT domain, edition, root FROM angzarr.events) a,
                             angzarr.load_aggregate(domain => a.domain, root => a.root, edition => a.edition) l"
    val upgrade_data "SELECT 'positions', md5(string_agg(angzarr.get_position(handler => p.handler, domain => p.domain, root => p.root,
                                                                              edition => p.edition)::text, ',' ORDER BY p))
                        FROM angzarr.positions p"
    val upgrade_data "SELECT 'snapshots', md5(string_agg(g::text, E'\n' ORDER BY s.domain, s.edition, s.root))
                        FROM (SELECT DISTINCT domain, edition, root FROM angzarr.snapshots) s,
                             angzarr.get_snapshot(domain => s.domain, root => s.root, edition => s.edition) g"
    val upgrade_data "SELECT 'correlation', md5(string_agg(concat_ws(' ', c.domain, c.edition, c.root, c.sequence, c.event_type,
                                                                    c.payload, c.created_at, c.id, c.global_position), E'\n'))
                        FROM angzarr.read_correlation('flow-1') c"
    val upgrade_data "SELECT 'editions', md5(string_agg(e::text, E'\n' ORDER BY e.name)) FROM angzarr.list_editions() e"
    val upgrade_data "SELECT 'feed', md5(string_agg(f::text, E'\n' ORDER BY f.feed_tx, f.global_position))
                        FROM angzarr.read_feed(max_count => 100000) f"
    val upgrade_data "SELECT 'feed_positions', md5(string_agg(g::text, E'\n' ORDER BY c))
                        FROM unnest(ARRAY['billing', 'audit']) c, angzarr.get_feed_position(c) g"
}
digest >"$work/before.txt"
! grep -E '\|$' "$work/before.txt" || fail "a read above returned nothing before the update: write data it can read"
# The argument-order rule (pg_test/sql/argument_order.sql) finds 0.1.0's order: it can fail.
if [ "$from" = 0.1.0 ]; then
    broken=$(q upgrade_data -tA -f pg_test/sql/argument_order.sql | grep -c 'angzarr\.' || true)
    [ "$broken" -ge 9 ] || fail "the argument-order rule finds $broken problems in 0.1.0, wanted at least 9"
fi
q upgrade_data -c "ALTER EXTENSION $EXT UPDATE"
[ "$(val upgrade_data "SELECT extversion FROM pg_extension WHERE extname = '$EXT'")" = "$version" ] \
    || fail "ALTER EXTENSION UPDATE did not reach $version"
digest >"$work/after.txt"
echo "test-upgrade: compared $(wc -l <"$work/before.txt") table and API digests before and after the update"
diff "$work/before.txt" "$work/after.txt" || fail "the update changed stored data (< before, > after)"
fingerprint upgrade_data >"$work/upgraded.txt"
diff "$work/upgraded.txt" "$work/fresh.txt" >"$work/schema.diff" || {
    cat "$work/schema.diff"
    fail "the upgraded schema differs from a fresh install of $version (< upgraded, > fresh): fix sql/$EXT--$from--$version.sql"
}
[ -z "$(val upgrade_data "SELECT * FROM angzarr.check_integrity()")" ] || fail "check_integrity() found problems after the update"
got=$(val upgrade_data "SELECT first_sequence FROM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001',
                          '[{\"type\": \"AfterUpdate\"}]', expected_sequence => 51)")
[ "$got" = "51" ] || fail "append after the update got sequence '$got', wanted 51"
echo "test-upgrade: $from -> $version: data intact, schema identical to a fresh install ($(wc -l <"$work/fresh.txt") objects), appends continue"

# The regress suite on upgraded databases.
cp -r pg_test/sql pg_test/expected "$work/"
mkdir -p "$work/results"
chown -R postgres: "$work"
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=($(ls pg_test/sql | sed -n 's/\.sql$//p' | sort))
failed=0
for t in "${tests[@]}"; do
    db="upgrade_regress_$t"
    upgraded_db "$db" "$from" >/dev/null
    if ! runuser -u postgres -- "$REGRESS" --use-existing --host=127.0.0.1 --port="$PORT" --user=postgres \
        --inputdir="$work" --outputdir="$work" --dbname="$db" "$t" >"$work/$t.log" 2>&1; then
        failed=$((failed + 1))
        cat "$work/$t.log"
        [ -f "$work/regression.diffs" ] && cat "$work/regression.diffs"
    fi
    rm -f "$work/regression.diffs"
    bash scripts/cluster.sh dropdb "$db" >/dev/null 2>&1
done
for db in upgrade_fresh upgrade_data; do bash scripts/cluster.sh dropdb "$db" >/dev/null 2>&1; done
echo "test-upgrade: pg_regress on databases upgraded from $from: $(( ${#tests[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
