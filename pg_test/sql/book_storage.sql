-- Examples of the book's SQL reference, "Positions, snapshots and loading"
-- (docs/src/reference/storage.md), included from pg_test/expected/book_storage.out.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
SELECT * FROM angzarr.append_events('player', :'a',
    (SELECT jsonb_agg(jsonb_build_object('type', 'Deposited', 'payload', jsonb_build_object('amount', n)))
       FROM generate_series(0, 11) n));
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Joined"}, {"type": "Deposited"}]');

-- ANCHOR: save-position
SELECT angzarr.save_position('player', :'a', 'projector', 5);
-- Lower or equal: nothing changes, and it is not an error.
SELECT angzarr.save_position('player', :'a', 'projector', 3);
SELECT angzarr.save_position('player', :'a', 'projector', -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: save-position

-- ANCHOR: get-position
SELECT angzarr.get_position('player', :'a', 'projector') AS projector,
       angzarr.get_position('player', :'a', 'nobody') AS nobody;
-- ANCHOR_END: get-position

-- ANCHOR: handler-lag
SELECT angzarr.save_position('player', :'a', 'saga', 1);
SELECT angzarr.save_position('player', :'b', 'saga', 1);
SELECT handler, root, position, last_sequence, lag FROM angzarr.handler_lag ORDER BY handler, root;
-- ANCHOR_END: handler-lag

-- ANCHOR: reset-positions
SELECT angzarr.reset_positions('saga');
SELECT angzarr.reset_positions('saga');
-- ANCHOR_END: reset-positions

-- ANCHOR: put-snapshot
SELECT * FROM angzarr.put_snapshot('player', :'a', 4, '\x04', retention => 'persist');
SELECT * FROM angzarr.put_snapshot('player', :'a', 9, '\x09', state_type => 'PlayerState');
-- A transient snapshot is kept only until a newer one arrives; this one replaces nothing
-- persistent, but supersedes the default one at 9 (same 16-sequence window).
SELECT * FROM angzarr.put_snapshot('player', :'a', 11, '\x0b', retention => 'transient');
SELECT sequence, state, state_type, retention FROM angzarr.snapshots WHERE root = :'a' ORDER BY sequence;
-- A snapshot beyond the last event is refused.
SELECT * FROM angzarr.put_snapshot('player', :'b', 2, '\x01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: put-snapshot

-- ANCHOR: get-snapshot
SELECT sequence, state, retention FROM angzarr.get_snapshot('player', :'a');
SELECT sequence, state, retention FROM angzarr.get_snapshot('player', :'a', max_sequence => 8);
-- ANCHOR_END: get-snapshot

-- ANCHOR: load-aggregate
SELECT * FROM angzarr.append_events('player', :'a',
    '[{"type": "Deposited", "payload": {"amount": 12}}, {"type": "Withdrawn", "payload": {"amount": 13}}]');
SELECT kind, sequence, type, data, angzarr.payload_json(data) AS json
  FROM angzarr.load_aggregate('player', :'a');
SELECT count(*) AS events_from_zero FROM angzarr.load_aggregate('player', :'a', use_snapshot => false);
-- ANCHOR_END: load-aggregate

-- ANCHOR: delete-snapshots
SELECT angzarr.delete_snapshots('player', :'a');
SELECT angzarr.delete_snapshots('player', :'a');
-- ANCHOR_END: delete-snapshots
