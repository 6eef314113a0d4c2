# Shared shell functions for the replication tests (scripts/test_replica.sh,
# scripts/test_failover.sh): PostgreSQL nodes that stream WAL to each other, each a cluster of its
# own under $HA_HOME/<node>, running as the OS user postgres on 127.0.0.1:<port>.
# Source it after setting HA_HOME; PG_CONFIG picks the PostgreSQL installation.
#   node_init NAME PORT            a new primary (replication-ready settings)
#   node_set_sync NAME             commits on NAME wait for a standby (HA_SYNC_NAMES)
#   node_standby NAME PORT FROM    a streaming standby cloned from node FROM (pg_basebackup)
#   node_start / node_stop / node_kill NAME
#   node_promote NAME              pg_ctl promote, waits until it accepts writes
#   node_rewind NAME FROM          turns a stopped former primary into a standby of FROM
#   node_wait_replay NAME FROM     waits until NAME has replayed all WAL FROM has inserted so far
#                                  (an abort record reaches it once the WAL writer flushes it)
PG_BIN="$(${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} --bindir)"
OS_USER=postgres

as_pg() { runuser -u "$OS_USER" -- "$@"; }
node_dir() { echo "$HA_HOME/$1"; }
node_port() { cat "$HA_HOME/$1/port"; }
node_psql() {
    local name="$1"; shift
    "$PG_BIN/psql" -X -q -At -h 127.0.0.1 -p "$(node_port "$name")" -U postgres -v ON_ERROR_STOP=1 "$@"
}

# Settings every node gets, primary or standby, so that any of them can take either role.
# wal_log_hints lets pg_rewind bring a failed primary back; hot_standby serves reads.
# A node's own port, socket directory and name go on the server's command line (node_start):
# pg_basebackup and pg_rewind copy the configuration files from the other node.
node_conf() {
    local name="$1" port="$2" dir
    dir="$(node_dir "$name")"
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
max_connections = 100
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '256MB'
wal_log_hints = on
hot_standby = on
fsync = on
synchronous_commit = on
log_line_prefix = '%m [%p] %q%a '
CONF
    echo "$port" >"$dir/port"
}

node_init() {
    local name="$1" port="$2" dir
    dir="$(node_dir "$name")"
    rm -rf "$dir"
    mkdir -p "$dir/run"
    chown -R "$OS_USER": "$HA_HOME"
    as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    node_conf "$name" "$port"
    node_start "$name"
}

# primary_conninfo names the standby (application_name), which synchronous_standby_names matches.
node_follow() {
    local name="$1" from="$2" dir
    dir="$(node_dir "$name")"
    cat >"$dir/data/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=127.0.0.1 port=$(node_port "$from") user=postgres application_name=$name'
CONF
    chown "$OS_USER": "$dir/data/postgresql.auto.conf"
    as_pg touch "$dir/data/standby.signal"
}

# Makes NAME's commits wait for a standby: synchronous_standby_names = HA_SYNC_NAMES ('*': any
# standby; '': asynchronous). In postgresql.conf, so clones and rewound nodes carry it, and
# whichever node is primary waits for the other. Set once the database exists: with no standby
# attached yet every commit would wait.
node_set_sync() {
    echo "synchronous_standby_names = '${HA_SYNC_NAMES:-}'" >>"$(node_dir "$1")/data/postgresql.conf"
    as_pg "$PG_BIN/pg_ctl" -D "$(node_dir "$1")/data" reload >/dev/null
}

node_standby() {
    local name="$1" port="$2" from="$3" dir
    dir="$(node_dir "$name")"
    rm -rf "$dir"
    mkdir -p "$dir/run"
    chown -R "$OS_USER": "$dir"
    as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$(node_port "$from")" -U postgres \
        -D "$dir/data" -X stream --checkpoint=fast
    echo "$port" >"$dir/port"
    node_follow "$name" "$from"
    node_start "$name"
}

node_start() {
    local dir
    dir="$(node_dir "$1")"
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 120 \
        -o "-p $(node_port "$1") -k $dir/run -c cluster_name=$1" start >/dev/null
}

node_stop() {
    as_pg "$PG_BIN/pg_ctl" -D "$(node_dir "$1")/data" -m fast -w stop >/dev/null 2>&1 || true
}

# SIGKILL to the postmaster and every backend at once: a machine that loses power. Children
# are found through /proc (no procps needed); waits until every process is gone, so nothing
# still holds the shared memory when the node is rewound or started.
node_kill() {
    local pidfile pid p pids=()
    pidfile="$(node_dir "$1")/data/postmaster.pid"
    [ -f "$pidfile" ] || return 0
    pid="$(head -1 "$pidfile")"
    for p in /proc/[0-9]*; do
        [ "$(awk '/^PPid:/ {print $2}' "$p/status" 2>/dev/null)" = "$pid" ] && pids+=("${p#/proc/}")
    done
    kill -KILL "$pid" "${pids[@]}" 2>/dev/null || true
    # (A zombie waiting for its new parent to reap it holds nothing any more.)
    for p in "$pid" "${pids[@]}"; do
        while [ -e "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; do sleep 0.02; done
    done
}

node_in_recovery() { node_psql "$1" -d postgres -c 'SELECT pg_is_in_recovery()'; }

node_promote() {
    as_pg "$PG_BIN/pg_ctl" -D "$(node_dir "$1")/data" -w -t 120 promote >/dev/null
    until [ "$(node_in_recovery "$1" 2>/dev/null)" = f ]; do sleep 0.05; done
}

# A former primary (stopped, possibly after a crash) rejoins as a standby of FROM: pg_rewind
# winds its data back to where the timelines split; a fresh pg_basebackup if that fails.
node_rewind() {
    local name="$1" from="$2" dir
    dir="$(node_dir "$name")"
    # pg_rewind needs a cleanly shut down source of truth for the target: after SIGKILL the
    # target first finishes crash recovery in single-user mode (pg_rewind does that itself).
    if ! as_pg "$PG_BIN/pg_rewind" -D "$dir/data" --source-server="host=127.0.0.1 port=$(node_port "$from") user=postgres dbname=postgres" \
        >"$dir/rewind.log" 2>&1; then
        echo "pg_rewind failed (see $dir/rewind.log); cloning $name afresh" >&2
        node_standby "$name" "$(node_port "$name")" "$from"
        return
    fi
    node_follow "$name" "$from"
    node_start "$name"
}

node_wait_replay() {
    local name="$1" from="$2" lsn
    lsn="$(node_psql "$from" -d postgres -c 'SELECT pg_current_wal_insert_lsn()')"
    until [ "$(node_psql "$name" -d postgres -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]; do
        sleep 0.05
    done
}
