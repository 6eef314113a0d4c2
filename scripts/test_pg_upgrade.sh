#!/usr/bin/env bash
# Major-version upgrade with pg_upgrade: builds a cluster of the old major (15) with the extension,
# writes every kind of data the store keeps (events on main and in editions, idempotency keys,
# consumer positions, snapshots, feed checkpoints, a raised feed clock offset), runs pg_upgrade
# into a cluster of the new major (18), then checks that every table and the whole feed read back
# identically and in the same order, that every feed checkpoint resumes at the next unseen event,
# that appends continue gap-free after everything old (feed_tx included), and that
# check_integrity() is clean. The old cluster runs in transaction id epoch 3, so the test also
# proves that pg_upgrade carries the 64-bit transaction id (epoch and next id) that feed_tx is
# built from: were it lost, new events would sort before old ones.
#   scripts/test_pg_upgrade.sh
# Both installations need the extension at the same version (make install; make install PG=18).
#   OLD_PG_CONFIG    default /usr/lib/postgresql/15/bin/pg_config
#   NEW_PG_CONFIG    default /opt/angzarr-pg/18/bin/pg_config (make setup PG=18 builds it)
#   PG_UPGRADE_PORT  default 56130 for the old cluster; the new one uses the next port
#   ANGZARR_HOME     the clusters live in $ANGZARR_HOME/pg_upgrade (default /var/lib/angzarr_store)
set -euo pipefail
cd "$(dirname "$0")/.."
OLD_PG_CONFIG="${OLD_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
NEW_PG_CONFIG="${NEW_PG_CONFIG:-/opt/angzarr-pg/18/bin/pg_config}"
OLD_BIN="$($OLD_PG_CONFIG --bindir)"
NEW_BIN="$($NEW_PG_CONFIG --bindir)"
OLD_PORT="${PG_UPGRADE_PORT:-56130}"
NEW_PORT=$((OLD_PORT + 1))
BASE="${ANGZARR_HOME:-/var/lib/angzarr_store}/pg_upgrade"
DB=upgraded
EXT=angzarr_store
work=$(mktemp -d /tmp/angzarr_pg_upgrade.XXXXXX)

as_pg() { runuser -u postgres -- "$@"; }
stop_all() {
    [ -f "$BASE/old/postmaster.pid" ] && as_pg "$OLD_BIN/pg_ctl" -D "$BASE/old" -m immediate -w stop >/dev/null 2>&1
    [ -f "$BASE/new/postmaster.pid" ] && as_pg "$NEW_BIN/pg_ctl" -D "$BASE/new" -m immediate -w stop >/dev/null 2>&1
    return 0
}
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "test-pg-upgrade: FAIL: $*" >&2; exit 1; }
# psql of the new major against either cluster (psql reads older servers).
q() { local port=$1; shift; "$NEW_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
val() { q "$1" -tA -c "$2"; }

old_major=$("$OLD_BIN/pg_config" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
new_major=$("$NEW_BIN/pg_config" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
for c in "$OLD_PG_CONFIG" "$NEW_PG_CONFIG"; do
    [ -f "$($c --sharedir)/extension/$EXT--$version.sql" ] || fail "$EXT $version is not installed in $($c --bindir)/..: run make install (PG_CONFIG=$c)"
done
echo "test-pg-upgrade: PostgreSQL $old_major -> $new_major, $EXT $version"

# Both clusters alike, as pg_upgrade requires (encoding, locale; PostgreSQL 18's initdb turns
# data checksums on by default, the old cluster has none).
new_cluster() {
    local bin=$1 dir=$2 port=$3 extra=()
    case "$("$bin/initdb" --help)" in *--no-data-checksums*) extra=(--no-data-checksums) ;; esac
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 "${extra[@]}" >/dev/null
    cat >>"$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_prepared_transactions = 10
CONF
}
start() { as_pg "$1/pg_ctl" -D "$2" -l "$2/server.log" -w -t 60 start >/dev/null; }
stop() { as_pg "$1/pg_ctl" -D "$2" -m fast -w stop >/dev/null; }

stop_all
rm -rf "$BASE"
mkdir -p "$BASE"
chown postgres: "$BASE" "$work"
new_cluster "$OLD_BIN" "$BASE/old" "$OLD_PORT"
# Transaction id epoch 3: every feed_tx is above 3 * 2^32.
as_pg "$OLD_BIN/pg_resetwal" -e 3 "$BASE/old" >/dev/null
start "$OLD_BIN" "$BASE/old"
"$NEW_BIN/psql" -X -q -h 127.0.0.1 -p "$OLD_PORT" -U postgres -d postgres -c "CREATE DATABASE $DB"
q "$OLD_PORT" -c "CREATE EXTENSION $EXT"

# Data of every kind, written in many transactions; the feed clock offset is raised half-way, so
# events stamped with both offsets are upgraded.
q "$OLD_PORT" >/dev/null <<'SQL'
SELECT angzarr.append_events('acct', ('00000000-0000-0000-0000-00000000000' || i)::uuid,
         array_agg('Posted'::text ORDER BY n), array_agg(int4send(n) ORDER BY n), correlation_id => 'c' || i)
  FROM generate_series(1, 5) i, generate_series(1, 50) n GROUP BY i;
SELECT angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "Keyed"}]',
         idempotency_key => 'k1');
INSERT INTO angzarr.events (domain, root, event_type, payload, correlation_id, created_at)
VALUES ('order', '00000000-0000-0000-0000-00000000000a', 'Placed', convert_to('{"n": 1}', 'UTF8'), 'flow-1', '2024-01-10 00:00Z'),
       ('order', '00000000-0000-0000-0000-00000000000a', 'Paid', '\x01', 'flow-1', '2024-02-10 00:00Z');
SELECT angzarr.create_edition('what-if', '{"acct": 10}');
SELECT angzarr.append_events(domain => 'acct', root => '00000000-0000-0000-0000-000000000001',
         events => '[{"type": "WhatIf", "payload": {"x": 1}}, {"type": "WhatIf2"}]', edition => 'what-if',
         idempotency_key => 'k-what-if');
SELECT angzarr.save_position(handler => 'projector', domain => 'acct', root => '00000000-0000-0000-0000-000000000001', sequence => 20);
SELECT angzarr.save_position(handler => 'projector', domain => 'acct', root => '00000000-0000-0000-0000-000000000001',
         sequence => 11, edition => 'what-if');
SELECT angzarr.put_snapshot(domain => 'acct', root => '00000000-0000-0000-0000-000000000001', sequence => 10, state => '\x0a');
SELECT angzarr.put_snapshot(domain => 'acct', root => '00000000-0000-0000-0000-000000000002', sequence => 40, state => '\x28',
         retention => 'persist', state_type => 'examples.Acct');
SELECT angzarr.put_snapshot(domain => 'acct', root => '00000000-0000-0000-0000-000000000001', sequence => 11, state => '\x0b',
         edition => 'what-if', retention => 'persist');
-- Feed checkpoints: part-way through the feed, and at the horizon of a reader that saw nothing.
SELECT angzarr.save_feed_position('audit', e.feed_tx, e.global_position)
  FROM (SELECT * FROM angzarr.events ORDER BY feed_tx, global_position OFFSET 100 LIMIT 1) e;
SELECT angzarr.save_feed_position('idle', h.feed_tx, h.global_position) FROM angzarr.feed_horizon() h;
-- A feed clock offset (as after a restore of rows from a cluster ahead of this one).
SELECT angzarr.advance_feed_clock(pg_current_xact_id()::text::bigint + 1000000);
SQL
for i in $(seq 1 20); do
    q "$OLD_PORT" -c "SELECT angzarr.append_events('ledger', md5('$i')::uuid, '[{\"type\": \"Opened\"}, {\"type\": \"Posted\"}]',
                        edition => CASE WHEN $i % 4 = 0 THEN 'what-if' ELSE 'angzarr' END)" >/dev/null
done
q "$OLD_PORT" >/dev/null <<'SQL'
INSERT INTO angzarr.events (domain, root, event_type, payload)
SELECT 'many', md5(i::text)::uuid, 'Created', int4send(i) FROM generate_series(1, 3000) i;
-- (A subquery: the select list would otherwise run for every row the OFFSET skips.)
SELECT angzarr.save_feed_position('billing', e.feed_tx, e.global_position)
  FROM (SELECT * FROM angzarr.events ORDER BY feed_tx DESC, global_position DESC OFFSET 500 LIMIT 1) e;
SELECT angzarr.save_feed_position('tail', e.feed_tx, e.global_position)
  FROM (SELECT * FROM angzarr.events ORDER BY feed_tx DESC, global_position DESC LIMIT 1) e;
SQL

tables=$(val "$OLD_PORT" "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
                          WHERE c.relnamespace = 'angzarr'::regnamespace AND c.relkind IN ('r', 'p')")
for t in $tables; do
    [ "$(val "$OLD_PORT" "SELECT count(*) > 0 FROM angzarr.\"$t\"")" = t ] || fail "the data leaves angzarr.$t empty: write some"
done
consumers="audit billing idle tail"
# Every table's rows, the feed as read_feed() returns it (in its own order), the counter.
digest() {
    local port=$1 t
    for t in $tables; do
        val "$port" "SELECT '$t', count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM angzarr.\"$t\" x"
    done
    val "$port" "SELECT 'feed', count(*), md5(string_agg(f::text, E'\n' ORDER BY n))
                   FROM angzarr.read_feed(0, 0, NULL) WITH ORDINALITY f(feed_tx, global_position, domain, edition, root,
                        sequence, event_type, payload, correlation_id, created_at, id, n)"
    val "$port" "SELECT 'position counter', last_value, is_called FROM angzarr.events_global_position_seq"
}
# What a consumer reads next when it resumes from its checkpoint: every row, in order.
resume() {
    val "$1" "SELECT f.global_position || ' ' || f.domain || ' ' || f.edition || ' ' || f.root || ' ' || f.sequence
                FROM angzarr.get_feed_position('$2') c, angzarr.read_feed(c.feed_tx, c.global_position, NULL) f"
}
digest "$OLD_PORT" >"$work/before.txt"
for c in $consumers; do resume "$OLD_PORT" "$c" >"$work/resume_$c.before"; done
[ -s "$work/resume_billing.before" ] && [ ! -s "$work/resume_tail.before" ] \
    || fail "the checkpoints do not cover a part-read and a fully read feed"
[ -z "$(val "$OLD_PORT" "SELECT * FROM angzarr.check_integrity()")" ] || fail "the old cluster is not healthy"
offset=$(val "$OLD_PORT" "SELECT xid_offset FROM angzarr.feed_clock")
[ "$offset" -gt 0 ] || fail "the feed clock offset was not raised"
xid_before=$(val "$OLD_PORT" "SELECT pg_current_xact_id()")
max_feed_tx=$(val "$OLD_PORT" "SELECT greatest((SELECT max(feed_tx) FROM angzarr.events), (SELECT max(feed_tx) FROM angzarr.feed_positions))")
max_position=$(val "$OLD_PORT" "SELECT max(global_position) FROM angzarr.events")
keyed=$(val "$OLD_PORT" "SELECT sequence FROM angzarr.events WHERE event_type = 'Keyed'")
declare -A next
for a in "angzarr acct '00000000-0000-0000-0000-000000000001'" "what-if acct '00000000-0000-0000-0000-000000000001'" \
         "angzarr many md5('7')::uuid" "what-if ledger md5('4')::uuid"; do
    read -r e d r <<<"$a"
    next[$a]=$(val "$OLD_PORT" "SELECT angzarr.next_sequence('$d', $r, '$e')")
done
[ "$max_feed_tx" -gt $((3 << 32)) ] || fail "feed_tx $max_feed_tx is not in epoch 3"
# PostgreSQL 15.20 keeps a hidden column option that a new major released before it cannot
# restore (scripts/pg_upgrade_strip_attver.sql says more); its pg_dump names the option, an
# older one does not. The documented step before pg_upgrade, in every database.
if [ "$(val "$OLD_PORT" "SELECT count(*) FROM pg_attribute WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg\_attver=%'")" != 0 ] \
    && ! grep -q pg_attver "$NEW_BIN/pg_dump"; then
    for db in $(val "$OLD_PORT" "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1"); do
        n=$("$NEW_BIN/psql" -X -q -tA -h 127.0.0.1 -p "$OLD_PORT" -U postgres -v ON_ERROR_STOP=1 -d "$db" \
            -f scripts/pg_upgrade_strip_attver.sql)
        echo "test-pg-upgrade: $db: pg_attver removed from $n columns (PostgreSQL $new_major's pg_dump predates it)"
    done
fi
stop "$OLD_BIN" "$BASE/old"

new_cluster "$NEW_BIN" "$BASE/new" "$NEW_PORT"
upgrade() {
    (cd "$work" && as_pg "$NEW_BIN/pg_upgrade" -b "$OLD_BIN" -B "$NEW_BIN" -d "$BASE/old" -D "$BASE/new" \
        -p "$OLD_PORT" -P "$NEW_PORT" -U postgres --socketdir="$work" "$@") >"$work/pg_upgrade.log" 2>&1 || {
        cat "$work/pg_upgrade.log"
        find "$BASE/new" -path '*pg_upgrade_output.d*' -name '*.log' -exec tail -20 {} + 2>/dev/null || true
        fail "pg_upgrade $* failed"
    }
}
upgrade --check
upgrade
echo "test-pg-upgrade: pg_upgrade --check and pg_upgrade passed"
start "$NEW_BIN" "$BASE/new"

[ "$(val "$NEW_PORT" "SELECT current_setting('server_version_num')::int / 10000")" = "$new_major" ] \
    || fail "the upgraded cluster is not PostgreSQL $new_major"
xid_after=$(val "$NEW_PORT" "SELECT pg_current_xact_id()")
[ "$xid_after" -gt "$xid_before" ] || fail "the transaction id went back from $xid_before to $xid_after: feed_tx would repeat"
digest "$NEW_PORT" >"$work/after.txt"
diff "$work/before.txt" "$work/after.txt" || fail "data or feed order changed (< before, > after)"
for c in $consumers; do
    resume "$NEW_PORT" "$c" >"$work/resume_$c.after"
    diff "$work/resume_$c.before" "$work/resume_$c.after" || fail "consumer $c resumes differently (< before, > after)"
done
[ -z "$(val "$NEW_PORT" "SELECT * FROM angzarr.check_integrity()")" ] || fail "check_integrity() found problems after pg_upgrade"
echo "test-pg-upgrade: $(wc -l <"$work/after.txt") table and feed digests identical, $(echo $consumers | wc -w) consumers resume where they were"

# Appends continue gap-free, after everything old in the feed.
append_next() {
    local edition=$1 domain=$2 root=$3 type=$4 got
    got=$(val "$NEW_PORT" "SELECT first_sequence FROM angzarr.append_events('$domain', $root, '[{\"type\": \"$type\"}]',
                             edition => '$edition', expected_sequence => ${next[$edition $domain $root]})")
    [ "$got" = "${next[$edition $domain $root]}" ] || fail "append to $edition $domain $root got '$got', wanted ${next[$edition $domain $root]}"
}
append_next angzarr acct "'00000000-0000-0000-0000-000000000001'" After1
append_next what-if acct "'00000000-0000-0000-0000-000000000001'" After2
append_next angzarr many "md5('7')::uuid" After3
append_next what-if ledger "md5('4')::uuid" After4
got=$(val "$NEW_PORT" "SELECT first_sequence FROM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001',
                         '[{\"type\": \"Keyed\"}]', idempotency_key => 'k1')")
[ "$got" = "$keyed" ] || fail "an idempotent retry got '$got', wanted the original $keyed"
got=$(val "$NEW_PORT" "SELECT count(*) FROM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000002',
                         '[{\"type\": \"Stale\"}]', expected_sequence => 10)" 2>&1 || true)
case "$got" in *"sequence conflict"*) ;; *) fail "a stale append was not refused: $got" ;; esac
new_rows=$(val "$NEW_PORT" "SELECT count(*) FROM angzarr.events WHERE event_type LIKE 'After_'
                              AND feed_tx > $max_feed_tx AND global_position > $max_position")
[ "$new_rows" = 4 ] || fail "only $new_rows of 4 new events sort after every old event and checkpoint"
[ "$(val "$NEW_PORT" "SELECT xid_offset FROM angzarr.feed_clock")" = "$offset" ] || fail "the feed clock offset changed"
# Every consumer reads what it had not seen, then exactly the new events, in append order.
val "$NEW_PORT" "SELECT global_position || ' ' || domain || ' ' || edition || ' ' || root || ' ' || sequence
                   FROM angzarr.events WHERE event_type LIKE 'After_' ORDER BY global_position" >"$work/new_events"
for c in $consumers; do
    cat "$work/resume_$c.before" "$work/new_events" >"$work/resume_$c.expected"
    resume "$NEW_PORT" "$c" >"$work/resume_$c.appended"
    diff "$work/resume_$c.expected" "$work/resume_$c.appended" \
        || fail "consumer $c does not read its unseen events, then the new ones (< expected, > read)"
done
[ -z "$(val "$NEW_PORT" "SELECT * FROM angzarr.check_integrity()")" ] || fail "check_integrity() found problems after appending"
echo "test-pg-upgrade: appends continue gap-free after every old event; each consumer reads the new events next"
stop "$NEW_BIN" "$BASE/new"
rm -rf "$BASE"
echo "test-pg-upgrade: 1 passed, 0 failed"
