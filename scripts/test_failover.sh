#!/usr/bin/env bash
# Failover drill: a primary and a synchronous standby of its own (PostgreSQL streaming
# replication, synchronous_commit = on, synchronous_standby_names = '*'), writers and a tailing
# feed consumer under load (tests/src/bin/failover_drill.rs); the primary is killed with SIGKILL
# and the standby promoted FAILOVER_COUNT times (ha/failover.sh), the old primary rejoining by
# pg_rewind each time. Fails unless every acknowledged append is stored exactly once, sequences
# are gap-free and the consumer applied every event exactly once.
#   scripts/test_failover.sh                   10 failovers, synchronous standby
#   FAILOVER_COUNT=20 FAILOVER_SEED=7 scripts/test_failover.sh
#   FAILOVER_SYNC=off scripts/test_failover.sh  asynchronous standby: counts what it loses
# Clusters of its own on FAILOVER_PORT and +1 (default 56160, 56161 for the synchronous run,
# 56162, 56163 for the asynchronous one), data under $ANGZARR_HOME/failover[-async].
set -euo pipefail
cd "$(dirname "$0")/.."
sync="${FAILOVER_SYNC:-on}"
case "$sync" in
    on) default_port=56160 suffix='' expect_loss_free=true; export HA_SYNC_NAMES='*' ;;
    off) default_port=56162 suffix='-async' expect_loss_free=false; export HA_SYNC_NAMES='' ;;
    *) echo "FAILOVER_SYNC must be on or off" >&2; exit 2 ;;
esac
PORT_A="${FAILOVER_PORT:-$default_port}"
PORT_B=$((PORT_A + 1))
export HA_HOME="${ANGZARR_HOME:-/var/lib/angzarr_store}/failover$suffix"
# shellcheck source=../ha/lib.sh
source ha/lib.sh
seed_args=()
[ -z "${FAILOVER_SEED:-}" ] || seed_args=(--seed "$FAILOVER_SEED")

cargo build --release -q -p angzarr_store_tests --bin failover_drill

cleanup() {
    node_stop a
    node_stop b
}
trap cleanup EXIT
mkdir -p "$HA_HOME"
cleanup
node_init a "$PORT_A"
node_psql a -d postgres -c "CREATE DATABASE drill"
node_psql a -d drill -c "CREATE EXTENSION angzarr_store"
node_set_sync a
node_standby b "$PORT_B" a
echo "primary a on $PORT_A, standby b on $PORT_B (synchronous_standby_names = '$HA_SYNC_NAMES')"

target/release/failover_drill "${seed_args[@]}" \
    --url "postgres://postgres@127.0.0.1:$PORT_A,127.0.0.1:$PORT_B/drill?target_session_attrs=read-write" \
    --failovers "${FAILOVER_COUNT:-10}" --expect-loss-free "$expect_loss_free" \
    --failover-command "HA_HOME=$HA_HOME HA_SYNC_NAMES='$HA_SYNC_NAMES' bash ha/failover.sh"
