-- Snapshots: put, get latest / at or below, delete, retention, limits, and load_aggregate.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
-- Aggregate a has events 0..23, b has 0..1.
SELECT * FROM angzarr.append_events('player', :'a', (
    SELECT array_agg('Deposited'::text ORDER BY i) FROM generate_series(0, 23) i),
    (SELECT array_agg(convert_to(format('{"amount": %s}', i), 'UTF8') ORDER BY i) FROM generate_series(0, 23) i));
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Joined"}, {"type": "Left"}]');

-- No snapshot yet: no row, and loading starts at event 0.
SELECT count(*) FROM angzarr.get_snapshot('player', :'a');
SELECT kind, sequence FROM angzarr.load_aggregate('player', :'b');

-- A snapshot at s is the state after events 0..s; it may not be past the last event (ZA004).
SELECT * FROM angzarr.put_snapshot('player', :'b', 2, '\x01');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.put_snapshot('player', '00000000-0000-0000-0000-0000000000ff', 0, '\x01');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.put_snapshot('player', :'b', 1, '\x01');

-- Getting: the newest, or the newest at or below a sequence.
SELECT * FROM angzarr.put_snapshot('player', :'a', 4, '\x04', retention => 'persist');
SELECT * FROM angzarr.put_snapshot('player', :'a', 9, '\x09', retention => 'persist');
SELECT sequence, state, retention FROM angzarr.get_snapshot('player', :'a');
SELECT sequence, state FROM angzarr.get_snapshot('player', :'a', max_sequence => 8);
SELECT sequence, state FROM angzarr.get_snapshot('player', :'a', max_sequence => 9);
SELECT count(*) AS below_first FROM angzarr.get_snapshot('player', :'a', max_sequence => 3);

-- Loading: the snapshot, then only the events after it.
SELECT kind, sequence, type, angzarr._payload_text(data) AS data, retention
  FROM angzarr.load_aggregate('player', :'a') WHERE sequence < 12 ORDER BY sequence;
SELECT count(*) AS rows, min(sequence), max(sequence) FROM angzarr.load_aggregate('player', :'a');
SELECT count(*) AS rows, min(sequence) FROM angzarr.load_aggregate('player', :'a', use_snapshot => false);
SELECT count(*) AS rows FROM angzarr.load_aggregate('player', '00000000-0000-0000-0000-0000000000ff');

-- Retention. persist stays; transient goes when any newer snapshot is put (put returns how
-- many it removed); default keeps the newest per 16-sequence window (0..15, 16..31, ...).
SELECT * FROM angzarr.put_snapshot('player', :'a', 10, '\x0a', retention => 'transient');
SELECT * FROM angzarr.put_snapshot('player', :'a', 11, '\x0b', retention => 'transient');
SELECT * FROM angzarr.put_snapshot('player', :'a', 12, '\x0c', retention => 'default');
SELECT * FROM angzarr.put_snapshot('player', :'a', 13, '\x0d', retention => 'default');
SELECT * FROM angzarr.put_snapshot('player', :'a', 17, '\x11', retention => 'default');
SELECT * FROM angzarr.put_snapshot('player', :'a', 20, '\x14', retention => 'default');
SELECT * FROM angzarr.put_snapshot('player', :'a', 21, '\x15', retention => 'transient');
SELECT * FROM angzarr.put_snapshot('player', :'a', 22, '\x16');
SELECT sequence, retention FROM angzarr.snapshots WHERE root = :'a' ORDER BY sequence;
-- A snapshot older than the newest is kept only if its retention would keep it.
SELECT * FROM angzarr.put_snapshot('player', :'a', 18, '\x12', retention => 'transient');
SELECT * FROM angzarr.put_snapshot('player', :'a', 19, '\x13', retention => 'default');
SELECT * FROM angzarr.put_snapshot('player', :'a', 6, '\x06', retention => 'default');
SELECT * FROM angzarr.put_snapshot('player', :'a', 7, '\x07', retention => 'persist');
SELECT sequence, retention FROM angzarr.snapshots WHERE root = :'a' ORDER BY sequence;
-- The rule itself.
SELECT r AS retention, angzarr._snapshot_superseded(3, r, 4) AS by_next,
       angzarr._snapshot_superseded(3, r, 15) AS same_window,
       angzarr._snapshot_superseded(15, r, 16) AS next_window,
       angzarr._snapshot_superseded(4, r, 4) AS same_sequence
  FROM unnest(enum_range(NULL::angzarr.snapshot_retention)) r ORDER BY r;

-- Putting the same sequence again replaces that snapshot.
SELECT * FROM angzarr.put_snapshot('player', :'a', 22, '\xff', retention => 'persist', state_type => 'examples.PlayerState');
SELECT sequence, state, state_type, retention FROM angzarr.get_snapshot('player', :'a');

-- State of 100 KB and more round-trips byte for byte.
SELECT * FROM angzarr.put_snapshot('player', :'a', 23, decode(string_agg(md5(i::text), ''), 'hex'))
  FROM generate_series(1, 8192) i;
SELECT octet_length(state) AS bytes,
       state = (SELECT decode(string_agg(md5(i::text), ''), 'hex') FROM generate_series(1, 8192) i) AS exact
  FROM angzarr.get_snapshot('player', :'a');
SELECT kind, sequence, octet_length(data) AS bytes FROM angzarr.load_aggregate('player', :'a');

-- Aggregates, domains and editions keep their own snapshots.
SELECT sequence, state FROM angzarr.get_snapshot('player', :'b');
SELECT count(*) AS other_domain FROM angzarr.get_snapshot('table', :'a');
SELECT count(*) AS other_edition FROM angzarr.get_snapshot('player', :'a', edition => 'what-if');

-- Deleting all snapshots of an aggregate is idempotent and leaves others alone.
SELECT angzarr.delete_snapshots('player', :'a');
SELECT angzarr.delete_snapshots('player', :'a');
SELECT count(*) AS a_left FROM angzarr.get_snapshot('player', :'a');
SELECT sequence FROM angzarr.get_snapshot('player', :'b');
-- ... and snapshotting can start over.
SELECT * FROM angzarr.put_snapshot('player', :'a', 3, '\x03', retention => 'transient');
SELECT sequence, state FROM angzarr.get_snapshot('player', :'a');

-- In an edition the head is the composite one: 'branch' shares main's events 0..1 of every
-- player, so it can snapshot sequence 1 but not 2, although main has 24 events.
SELECT angzarr.create_edition('branch', '{"player": 2}');
SELECT * FROM angzarr.put_snapshot('player', :'a', 2, '\x02', edition => 'branch');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.put_snapshot('player', :'a', 1, '\x01', edition => 'branch');
-- Loading in the edition uses its own snapshot at 1; main's at 3 is past the divergence point.
SELECT kind, sequence, data FROM angzarr.load_aggregate('player', :'a', 'branch') ORDER BY sequence;
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "What"}, {"type": "If"}]', edition => 'branch');
SELECT kind, sequence, type, data FROM angzarr.load_aggregate('player', :'a', 'branch') ORDER BY sequence;
-- A main snapshot below the divergence point serves the edition when it has none of its own.
SELECT angzarr.delete_snapshots('player', :'a', 'branch');
SELECT * FROM angzarr.put_snapshot('player', :'a', 1, '\xaa', retention => 'persist');
SELECT kind, sequence, type, data FROM angzarr.load_aggregate('player', :'a', 'branch') ORDER BY sequence;

-- Bad input.
SELECT * FROM angzarr.put_snapshot('player', :'a', -1, '\x00');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.put_snapshot('player', :'a', NULL, '\x00');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.put_snapshot('player', :'a', 1, NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.put_snapshot('player', :'a', 1, '\x00', retention => 'forever');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.put_snapshot('', :'a', 1, '\x00');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
