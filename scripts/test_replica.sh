#!/usr/bin/env bash
# Read replicas: a hot standby streaming from a primary serves the store's reads, and its global
# feed keeps the no-skip guarantee. An old writer held open on the primary (with events, and, the
# nasty case, with only a transaction id that no WAL record has mentioned yet) must hold back the
# younger writers' events on the standby, also across a checkpoint's running-xacts record and a
# standby restart; once it commits, a consumer on the standby gets every event exactly once, in
# feed order. Then the Rust client runs against the standby (tests/src/bin/replica_reads.rs).
#   scripts/test_replica.sh        two clusters of its own on REPLICA_PORT and +1 (default 56150)
# Data under $ANGZARR_HOME/replica (default /var/lib/angzarr_store/replica).
set -euo pipefail
cd "$(dirname "$0")/.."
PRIMARY_PORT="${REPLICA_PORT:-56150}"
STANDBY_PORT=$((PRIMARY_PORT + 1))
export HA_HOME="${ANGZARR_HOME:-/var/lib/angzarr_store}/replica"
export HA_SYNC_NAMES=''
# shellcheck source=../ha/lib.sh
source ha/lib.sh
DB=replica
WORK="$(mktemp -d)"
chmod 755 "$WORK"

cleanup() {
    exec 7>&- 8>&- 2>/dev/null || true
    node_stop standby
    node_stop primary
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "test_replica: FAILED: $*" >&2; exit 1; }

cargo build --release -q -p angzarr_store_tests --bin replica_reads

mkdir -p "$HA_HOME"
node_stop standby
node_stop primary
node_init primary "$PRIMARY_PORT"
node_psql primary -d postgres -c "CREATE DATABASE $DB"
node_psql primary -d "$DB" -c "CREATE EXTENSION angzarr_store"
node_standby standby "$STANDBY_PORT" primary
echo "primary on $PRIMARY_PORT, hot standby on $STANDBY_PORT"

# An append committed on the primary at once (its own transaction).
append() {
    node_psql primary -d "$DB" -c \
        "SELECT angzarr.append_events('replica', gen_random_uuid(), ARRAY['$1'], ARRAY['\x'::bytea])" >/dev/null
}

# A session on the primary that stays open between the steps of the test: statements go in
# through a FIFO on file descriptor $2; `\g FILE` results are read back with `session_value`.
open_session() {
    mkfifo "$WORK/$1.in"
    node_psql primary -d "$DB" <"$WORK/$1.in" >"$WORK/$1.out" 2>&1 &
    eval "exec $2>\"$WORK/$1.in\""
}
session_value() {
    until [ -s "$WORK/$1" ]; do sleep 0.02; done
    cat "$WORK/$1"
}

# The consumer: reads the standby's feed after its checkpoint, page by page, and appends each
# event type to $WORK/seen, moving its checkpoint (kept in the shell, as a consumer would keep it).
CKPT_TX=0
CKPT_POS=0
consume() {
    local page tx pos type
    while :; do
        page="$(node_psql standby -d "$DB" -F ' ' -c \
            "SELECT feed_tx, global_position, event_type FROM angzarr.read_feed($CKPT_TX, $CKPT_POS, 2)")"
        [ -n "$page" ] || return 0
        while read -r tx pos type; do
            if [ "$tx" -lt "$CKPT_TX" ] || { [ "$tx" -eq "$CKPT_TX" ] && [ "$pos" -le "$CKPT_POS" ]; }; then
                fail "feed went backwards: ($tx, $pos) after ($CKPT_TX, $CKPT_POS)"
            fi
            CKPT_TX=$tx
            CKPT_POS=$pos
            echo "$type" >>"$WORK/seen"
        done <<<"$page"
    done
}
: >"$WORK/seen"
seen() { paste -sd ' ' "$WORK/seen"; }
expect_seen() { [ "$(seen)" = "$1" ] || fail "$2: the standby's feed gave [$(seen)], expected [$1]"; }
# Proves the held-back events did reach the standby: what holds them is the feed horizon.
expect_replicated() {
    local n
    n="$(node_psql standby -d "$DB" -c "SELECT count(*) FROM angzarr.events WHERE event_type = '$1'")"
    [ "$n" = 1 ] || fail "$1 is not on the standby yet ($n rows); the check would prove nothing"
}
sync_standby() { node_wait_replay standby primary; }

append e0
sync_standby
consume
expect_seen "e0" "start"

echo "case 1: an old writer with events, open while younger writers commit"
open_session w1 7
echo "BEGIN; SELECT angzarr.append_events('replica', gen_random_uuid(), ARRAY['old1'], ARRAY['\x'::bytea]);" >&7
echo "SELECT pg_current_xact_id() \\g $WORK/w1.xid" >&7
w1_xid="$(session_value w1.xid)"
append y1
append y2
sync_standby
expect_replicated y2
consume
expect_seen "e0" "old writer $w1_xid open"
node_psql primary -d "$DB" -c "CHECKPOINT"
sync_standby
consume
expect_seen "e0" "old writer open, after a running-xacts record"
echo "COMMIT;" >&7
echo "SELECT 'committed' \\g $WORK/w1.done" >&7
session_value w1.done >/dev/null
sync_standby
consume
expect_seen "e0 old1 y1 y2" "old writer committed"
echo "  standby held y1 y2 back while xid $w1_xid ran, then gave: $(seen)"

echo "case 2: an old transaction id that no WAL record mentions yet"
open_session w2 8
# pg_current_xact_id() assigns an id and writes nothing: the standby can only infer it.
echo "BEGIN; SELECT pg_current_xact_id() \\g $WORK/w2.xid" >&8
w2_xid="$(session_value w2.xid)"
append y3
sync_standby
expect_replicated y3
consume
expect_seen "e0 old1 y1 y2" "silent xid $w2_xid open (known only from the gap below y3's id)"
node_psql primary -d "$DB" -c "CHECKPOINT"
sync_standby
consume
expect_seen "e0 old1 y1 y2" "silent xid open, after a running-xacts record"
# A restarted standby rebuilds its running transactions from the checkpoint's record alone.
node_stop standby
node_start standby
sync_standby
consume
expect_seen "e0 old1 y1 y2" "silent xid open, after a standby restart"
echo "SELECT angzarr.append_events('replica', gen_random_uuid(), ARRAY['old2'], ARRAY['\x'::bytea]);" >&8
append y4
sync_standby
expect_replicated y4
consume
expect_seen "e0 old1 y1 y2" "silent xid open, now with an event"
echo "COMMIT;" >&8
echo "SELECT 'committed' \\g $WORK/w2.done" >&8
session_value w2.done >/dev/null
sync_standby
consume
expect_seen "e0 old1 y1 y2 old2 y3 y4" "silent xid committed"
echo "  standby held y3 y4 back while xid $w2_xid ran, then gave: $(seen)"

echo "case 3: an old writer that rolls back"
open_session w3 9
echo "BEGIN; SELECT angzarr.append_events('replica', gen_random_uuid(), ARRAY['gone'], ARRAY['\x'::bytea]);" >&9
echo "SELECT pg_current_xact_id() \\g $WORK/w3.xid" >&9
session_value w3.xid >/dev/null
append y5
sync_standby
expect_replicated y5
consume
expect_seen "e0 old1 y1 y2 old2 y3 y4" "writer about to roll back still open"
echo "ROLLBACK;" >&9
echo "SELECT 'rolled back' \\g $WORK/w3.done" >&9
session_value w3.done >/dev/null
exec 9>&-
sync_standby
consume
expect_seen "e0 old1 y1 y2 old2 y3 y4 y5" "writer rolled back"

# The feed as the primary sees it is the same, in the same order.
primary_feed="$(node_psql primary -d "$DB" -c \
    "SELECT string_agg(event_type, ' ' ORDER BY feed_tx, global_position) FROM angzarr.read_feed(0, 0, NULL)")"
[ "$primary_feed" = "$(seen)" ] || fail "primary's feed [$primary_feed] differs from the standby's [$(seen)]"
echo "feed on the standby: every event exactly once, in the primary's order ($(wc -l <"$WORK/seen") events)"

echo "client against the standby"
target/release/replica_reads \
    --primary "postgres://postgres@127.0.0.1:$PRIMARY_PORT/$DB" \
    --standby "postgres://postgres@127.0.0.1:$STANDBY_PORT/$DB"
echo "test_replica: passed"
