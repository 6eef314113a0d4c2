-- Examples of the book's SQL reference, "Appending and reading" (docs/src/reference/append-read.md),
-- included from pg_test/expected/book_append_read.out between ANCHOR lines.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'

-- ANCHOR: append-binary
SELECT * FROM angzarr.append_events('player', :'a',
    ARRAY['PlayerRegistered', 'FundsDeposited'], ARRAY['\x0a03616e6e'::bytea, '\x0864'],
    expected_sequence => 0);
-- ANCHOR_END: append-binary

-- ANCHOR: append-json
SELECT * FROM angzarr.append_events('player', :'a',
    '[{"type": "FundsWithdrawn", "payload": {"amount": 30}}]', expected_sequence => 2);
-- ANCHOR_END: append-json

-- ANCHOR: append-empty
-- An empty batch writes nothing; with expected_sequence it is a cheap "is my state current?".
SELECT * FROM angzarr.append_events('player', :'a', '[]', expected_sequence => 3);
SELECT * FROM angzarr.append_events('player', :'a', '[]', expected_sequence => 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: append-empty

-- ANCHOR: append-errors
SELECT * FROM angzarr.append_events('player', :'a', ARRAY['A', 'B'], ARRAY['\x01'::bytea]);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player/eu', :'a', '[{"type": "A"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "A"}]', expected_sequence => -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: append-errors

-- ANCHOR: idempotency
-- The first call appends; a repeat with the same key on the same aggregate returns the first
-- call's range and writes nothing, even with other events or another expectation.
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Joined"}]',
    idempotency_key => 'command-8f2e');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Joined"}, {"type": "Joined"}]',
    expected_sequence => 7, idempotency_key => 'command-8f2e');
SELECT count(*) AS events FROM angzarr.read_stream('player', :'b');
-- ANCHOR_END: idempotency

-- ANCHOR: read-stream
SELECT sequence, event_type, payload, angzarr.payload_json(payload) AS json
  FROM angzarr.read_stream('player', :'a', from_sequence => 1, max_count => 2);
-- Half-open ranges: [1, 1) is empty, not an error; a negative bound is.
SELECT count(*) FROM angzarr.read_stream('player', :'a', from_sequence => 1, to_sequence => 1);
SELECT count(*) FROM angzarr.read_stream('player', :'a', from_sequence => -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: read-stream

-- ANCHOR: expected-sequences
BEGIN;
SET LOCAL angzarr.expected_sequences = '{"player/00000000-0000-0000-0000-00000000000a": 3, "player/00000000-0000-0000-0000-00000000000b": 1}';
INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES
    ('player', '00000000-0000-0000-0000-00000000000a', 'Seated', '\x'),
    ('player', '00000000-0000-0000-0000-00000000000b', 'Seated', '\x');
COMMIT;
-- One stale expectation fails the statement; nothing of the transaction is written.
BEGIN;
SET LOCAL angzarr.expected_sequences = '{"player/00000000-0000-0000-0000-00000000000a": 4, "player/00000000-0000-0000-0000-00000000000b": 1}';
INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES
    ('player', '00000000-0000-0000-0000-00000000000a', 'Left', '\x'),
    ('player', '00000000-0000-0000-0000-00000000000b', 'Left', '\x');
ROLLBACK;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- A malformed setting is refused by the SET itself.
SET angzarr.expected_sequences = '{"player": 1}';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: expected-sequences

-- ANCHOR: explicit-sequence
-- A row may carry its sequence; it must be exactly the next one.
INSERT INTO angzarr.events (domain, root, sequence, event_type, payload)
VALUES ('player', :'a', 4, 'Noted', '\x');
INSERT INTO angzarr.events (domain, root, sequence, event_type, payload)
VALUES ('player', :'a', 9, 'Seated', '\x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: explicit-sequence

-- ANCHOR: payload-json
SELECT angzarr.payload_json(convert_to('{"amount": 5}', 'UTF8')) AS json_text,
       angzarr.payload_json('\x0864') AS protobuf;
-- ANCHOR_END: payload-json

-- ANCHOR: show-stream
SELECT domain, edition, sequence, event_type, correlation_id, payload
  FROM angzarr.events_pretty WHERE root = :'a' ORDER BY sequence;
SELECT sequence, event_type, payload, stored_in FROM angzarr.show_stream('player', :'a');
-- ANCHOR_END: show-stream

-- ANCHOR: lock-key
-- The advisory lock writers of an aggregate hold, as pg_locks shows it (objsubid 3).
BEGIN;
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Noted"}]');
SELECT locktype, objsubid, mode, granted
  FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 3
   AND ((classid::bigint << 32) | objid::bigint) = angzarr.aggregate_lock_key('player', :'a');
COMMIT;
-- ANCHOR_END: lock-key
