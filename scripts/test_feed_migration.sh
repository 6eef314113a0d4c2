#!/usr/bin/env bash
# The feed order survives moving the store to another cluster whose transaction ids are lower:
# by pg_dump | pg_restore, and by logical replication with a cut-over. Two throw-away clusters
# (never the dev cluster): a source whose transaction-id epoch is pushed ahead with pg_resetwal,
# and a fresh target. On the source: events in several aggregates and editions, a consumer
# checkpoint saved part-way through the feed and one at the feed horizon. On the target, after
# the move: the restored rows are unchanged, new events are appended, and each consumer that
# resumes from its moved checkpoint sees every event after it (the rest of the old ones, then
# all new ones) exactly once and in per-aggregate order.
#   scripts/test_feed_migration.sh   (clusters on ports FEED_MIGRATION_PORT and +1, default PORT+10)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
SRC_PORT="${FEED_MIGRATION_PORT:-$(( ${PORT:-55432} + 10 ))}"
DST_PORT=$((SRC_PORT + 1))
OS_USER=postgres
work=$(mktemp -d /tmp/angzarr_feed_migration.XXXXXX)
chown "$OS_USER": "$work"

as_pg() { runuser -u "$OS_USER" -- "$@"; }
cleanup() {
    local c
    for c in source target; do
        [ -f "$work/$c/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$work/$c" -m immediate -w stop >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "test-feed-migration: FAIL: $*" >&2; exit 1; }
q() { local port=$1 db=$2; shift 2; "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -d "$db" "$@"; }
val() { q "$1" "$2" -tA -c "$3"; }

new_cluster() {
    local name=$1 port=$2
    as_pg "$PG_BIN/initdb" -D "$work/$name" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$work/$name/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
wal_level = logical
max_wal_senders = 4
max_replication_slots = 4
fsync = off
autovacuum = off
CONF
}
start_cluster() { as_pg "$PG_BIN/pg_ctl" -D "$work/$1" -l "$work/$1.log" -w -t 60 start >/dev/null; }

new_cluster source "$SRC_PORT"
new_cluster target "$DST_PORT"
# The source has lived long: its 64-bit transaction ids are 2^33 ahead of a fresh cluster's.
# (The epoch is not stored anywhere but pg_control, so any value is safe; see pg_resetwal -e.)
as_pg "$PG_BIN/pg_resetwal" -e 2 "$work/source" >/dev/null
start_cluster source
start_cluster target
q "$SRC_PORT" postgres -c "CREATE DATABASE src"
q "$SRC_PORT" src -c "CREATE EXTENSION angzarr_store"

# Appends $2 events per aggregate to aggregates 1..$3 of domain $1 in edition $4, one transaction
# per aggregate, so the feed holds many distinct feed_tx values.
append() {
    local port=$1 db=$2 domain=$3 per=$4 aggregates=$5 edition=$6 tag=$7 a
    for a in $(seq 1 "$aggregates"); do
        echo "SELECT angzarr.append_events('$domain', md5('$domain/$a')::uuid,
                array_agg('${tag}'::text ORDER BY i), array_agg(int4send(i) ORDER BY i), edition => '$edition')
                FROM generate_series(1, $per) i;"
    done | q "$port" "$db" >/dev/null
}
# Every event as the feed knows it; restored rows must keep all of it.
rows() { val "$1" "$2" "SELECT string_agg(format('%s %s %s %s %s %s %s', id, feed_tx, global_position, domain, edition, root, sequence), E'\n' ORDER BY feed_tx, global_position) FROM angzarr.events WHERE event_type <> 'New'"; }

# Source history: two domains, main and a named edition; 'projector' stops part-way through,
# 'tail' (a filtered reader) saves the horizon after everything.
append "$SRC_PORT" src ledger 3 6 angzarr Old
append "$SRC_PORT" src cart 2 4 angzarr Old
append "$SRC_PORT" src ledger 2 3 what-if Old
val "$SRC_PORT" src "SELECT angzarr.save_feed_position('projector', f.feed_tx, f.global_position)
                     FROM (SELECT * FROM angzarr.read_feed(0, 0, 20) ORDER BY feed_tx DESC, global_position DESC LIMIT 1) f" >/dev/null
append "$SRC_PORT" src ledger 2 6 angzarr Old
append "$SRC_PORT" src cart 1 5 angzarr Old
val "$SRC_PORT" src "SELECT angzarr.save_feed_position('tail', h.feed_tx, h.global_position) FROM angzarr.feed_horizon() h" >/dev/null
source_rows=$(rows "$SRC_PORT" src)
total=$(val "$SRC_PORT" src "SELECT count(*) FROM angzarr.events")
[ "$(val "$SRC_PORT" src "SELECT count(*) FROM angzarr.read_feed(0, 0, NULL)")" = "$total" ] || fail "the source feed is held back"
[ "$(val "$SRC_PORT" src "SELECT min(feed_tx) > (1::bigint << 33) FROM angzarr.events")" = t ] || fail "the source's transaction ids are not ahead"

# Resumes consumer $3 from its checkpoint on the target, reads the whole feed after it, and
# checks it got exactly the events after the checkpoint on the source ($4: how many) plus every
# new event, each once, each aggregate in sequence order.
check_consumer() {
    local port=$1 db=$2 consumer=$3 old_after=$4 new got
    new=$(val "$port" "$db" "SELECT count(*) FROM angzarr.events WHERE event_type = 'New'")
    got=$(val "$port" "$db" "
        WITH cp AS (SELECT * FROM angzarr.get_feed_position('$consumer')),
        seen AS (SELECT f.*, row_number() OVER (ORDER BY f.feed_tx, f.global_position) AS n
                   FROM cp, angzarr.read_feed(cp.feed_tx, cp.global_position, NULL) f)
        SELECT format('%s old, %s new, %s distinct, %s out of order, %s new before old',
               count(*) FILTER (WHERE event_type <> 'New'), count(*) FILTER (WHERE event_type = 'New'),
               count(DISTINCT id),
               (SELECT count(*) FROM (SELECT sequence < lag(sequence) OVER (PARTITION BY domain, edition, root ORDER BY n) AS back
                                        FROM seen) o WHERE back),
               (SELECT count(*) FROM seen a, seen b WHERE a.event_type = 'New' AND b.event_type <> 'New' AND a.n < b.n))
          FROM seen")
    [ "$got" = "$old_after old, $new new, $((old_after + new)) distinct, 0 out of order, 0 new before old" ] \
        || fail "$db: consumer $consumer resuming from its checkpoint saw: $got (wanted $old_after old and all $new new events once, in order)"
}
# How many source events lie after consumer $1's checkpoint.
after_checkpoint() {
    val "$SRC_PORT" src "SELECT count(*) FROM angzarr.get_feed_position('$1') cp, angzarr.events e
                         WHERE (e.feed_tx, e.global_position) > (cp.feed_tx, cp.global_position)"
}
projector_after=$(after_checkpoint projector)
tail_after=$(after_checkpoint tail)
[ "$projector_after" -gt 0 ] && [ "$tail_after" = 0 ] || fail "checkpoints not where intended: $projector_after, $tail_after"

# Appends on the moved store: existing aggregates of both editions, new aggregates, several
# transactions; then the consumers resume.
append_and_check() {
    local port=$1 db=$2 how=$3
    append "$port" "$db" ledger 2 8 angzarr New
    append "$port" "$db" ledger 1 3 what-if New
    append "$port" "$db" cart 1 7 angzarr New
    append "$port" "$db" fresh 2 3 angzarr New
    [ "$(rows "$port" "$db")" = "$source_rows" ] || fail "$how: restored events changed"
    check_consumer "$port" "$db" projector "$projector_after"
    check_consumer "$port" "$db" tail "$tail_after"
    [ -z "$(val "$port" "$db" "SELECT * FROM angzarr.check_integrity()")" ] || fail "$how: check_integrity() found problems"
    # Nothing new may sort at or below anything that came from the source.
    [ "$(val "$port" "$db" "SELECT min(feed_tx) FILTER (WHERE event_type = 'New') > greatest(max(feed_tx) FILTER (WHERE event_type <> 'New'),
                             (SELECT max(feed_tx) FROM angzarr.feed_positions)) FROM angzarr.events")" = t ] \
        || fail "$how: new events sort below moved events or checkpoints"
    echo "test-feed-migration: $how: restored rows unchanged, consumers resume without skipping"
}

# 1. pg_dump | pg_restore into a fresh database of the other cluster.
"$PG_BIN/pg_dump" -h 127.0.0.1 -p "$SRC_PORT" -U postgres -Fc -f "$work/store.dump" src
q "$DST_PORT" postgres -c "CREATE DATABASE restored"
"$PG_BIN/pg_restore" -h 127.0.0.1 -p "$DST_PORT" -U postgres -d restored "$work/store.dump" 2>"$work/restore.err" \
    || { cat "$work/restore.err"; fail "pg_restore failed"; }
[ "$(rows "$DST_PORT" restored)" = "$source_rows" ] || fail "dump/restore: restored events differ from the source"
[ "$(val "$DST_PORT" restored "SELECT count(*) FROM angzarr.read_feed(0, 0, NULL)")" = "$total" ] \
    || fail "dump/restore: restored events are held back on the target"
append_and_check "$DST_PORT" restored dump/restore

# 2. Logical replication: subscribe, keep writing on the source while it streams, cut over
# (source writes stop, the target catches up, the subscription is dropped), write on the target.
# FOR ALL TABLES also publishes the source's feed clock, which the target must ignore.
q "$SRC_PORT" src -c "CREATE PUBLICATION angzarr_move FOR ALL TABLES"
q "$DST_PORT" postgres -c "CREATE DATABASE replica"
q "$DST_PORT" replica -c "CREATE EXTENSION angzarr_store"
q "$DST_PORT" replica -c "CREATE SUBSCRIPTION angzarr_move CONNECTION 'host=127.0.0.1 port=$SRC_PORT dbname=src user=postgres'
                            PUBLICATION angzarr_move"
wait_caught_up() {
    local want i
    want=$(val "$SRC_PORT" src "SELECT count(*) || ' ' || max(global_position) FROM angzarr.events")
    for i in $(seq 1 300); do
        if [ "$(val "$DST_PORT" replica "SELECT count(*) || ' ' || max(global_position) FROM angzarr.events")" = "$want" ] \
           && [ "$(val "$DST_PORT" replica "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ] \
           && [ "$(val "$DST_PORT" replica "SELECT string_agg(format('%s %s %s', consumer, feed_tx, global_position), ',' ORDER BY consumer) FROM angzarr.feed_positions")" \
                = "$(val "$SRC_PORT" src "SELECT string_agg(format('%s %s %s', consumer, feed_tx, global_position), ',' ORDER BY consumer) FROM angzarr.feed_positions")" ]; then
            return 0
        fi
        sleep 0.2
    done
    fail "logical replication: the target did not catch up in 60 s"
}
wait_caught_up
# Streamed (not copied) changes: more history, a moved checkpoint, and a raise of the source's
# own clock (which must not reach the target's).
val "$SRC_PORT" src "SELECT angzarr.advance_feed_clock(max(feed_tx) + 1000) FROM angzarr.events" >/dev/null
append "$SRC_PORT" src cart 2 3 angzarr Old
append "$SRC_PORT" src ledger 1 2 what-if Old
val "$SRC_PORT" src "SELECT angzarr.save_feed_position('tail', h.feed_tx, h.global_position) FROM angzarr.feed_horizon() h" >/dev/null
source_rows=$(rows "$SRC_PORT" src)
total=$(val "$SRC_PORT" src "SELECT count(*) FROM angzarr.events")
projector_after=$(after_checkpoint projector)
tail_after=$(after_checkpoint tail)
wait_caught_up
q "$DST_PORT" replica -c "DROP SUBSCRIPTION angzarr_move"
[ "$(rows "$DST_PORT" replica)" = "$source_rows" ] || fail "logical replication: replicated events differ from the source"
[ "$(val "$DST_PORT" replica "SELECT count(*) FROM angzarr.read_feed(0, 0, NULL)")" = "$total" ] \
    || fail "logical replication: replicated events are held back on the target"
append_and_check "$DST_PORT" replica "logical replication"
echo "test-feed-migration: 2 passed, 0 failed"
