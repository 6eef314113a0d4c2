#!/usr/bin/env bash
# One failover of the two-node setup under $HA_HOME (nodes a and b, made by
# scripts/test_failover.sh): SIGKILL the primary (postmaster and every backend, like a lost
# machine), promote the standby with `pg_ctl promote`, bring the old primary back as the new
# primary's standby with pg_rewind, and wait until it streams again (as the synchronous standby
# when HA_SYNC_NAMES is set). Prints one line: what it did and how long each step took.
#   HA_HOME=/var/lib/angzarr_store/failover PG_CONFIG=... bash ha/failover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
source ha/lib.sh

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

if [ "$(node_in_recovery a 2>/dev/null || true)" = f ]; then old=a new=b; else old=b new=a; fi
[ "$(node_in_recovery "$new")" = t ] || { echo "failover: $new is not a standby" >&2; exit 1; }

start=$(date +%s%N)
node_kill "$old"
node_promote "$new"
promoted=$(ms "$start")
# pg_rewind reads the new timeline from the source's control file, which the end-of-recovery
# checkpoint writes; promotion only requests that checkpoint.
node_psql "$new" -d postgres -c CHECKPOINT
rejoin=$(date +%s%N)
node_rewind "$old" "$new"
want_state="${HA_SYNC_NAMES:+sync}"
until [ "$(node_psql "$new" -d postgres -c "SELECT sync_state FROM pg_stat_replication
                                             WHERE application_name = '$old' AND state = 'streaming'")" \
        = "${want_state:-async}" ]; do
    sleep 0.05
done
echo "killed $old, promoted $new in ${promoted} ms; $old rewound and streaming (${want_state:-async}) after $(ms "$rejoin") ms more"
