-- Bad input to the append path: each case gets a clear error with a fitting SQLSTATE and
-- nothing of its transaction is written.
\set SHOW_CONTEXT never
\set VERBOSITY default
\set ON_ERROR_STOP off
\set r '00000000-0000-0000-0000-0000000000e1'
SELECT * FROM angzarr.append_events(NULL, :'r', '[{"type": "A"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('', :'r', '[{"type": "A"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events(repeat('d', 65), :'r', '[{"type": "A"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('a/b', :'r', '[{"type": "A"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events(E'bad\ttab', :'r', '[{"type": "A"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', NULL, '[{"type": "A"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', 'not-a-uuid', '[{"type": "A"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'r', '[{"type": "A"}]', edition => repeat('e', 65));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'r', '[{"type": "A"}]', expected_sequence => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'r', '{"type": "A"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'r', '[{"payload": 1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'r', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'r', ARRAY['A', 'B'], ARRAY['\x'::bytea]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'r', ARRAY['A'], ARRAY[NULL::bytea]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('player', :'r', ARRAY[''], ARRAY['\x'::bytea]);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO angzarr.events (domain, root, event_type, payload, sequence)
VALUES ('player', :'r', 'A', '\x', -5);
\echo :LAST_ERROR_SQLSTATE
-- Malformed expected_sequences settings are refused by SET itself.
BEGIN;
SET LOCAL angzarr.expected_sequences = '{"player/not-a-uuid": 0}';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL angzarr.expected_sequences = '{"player/00000000-0000-0000-0000-0000000000e1": -1}';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- A conflict on the second aggregate of a multi-aggregate transaction undoes the first.
BEGIN;
SET LOCAL angzarr.expected_sequences = '{"player/00000000-0000-0000-0000-0000000000e1": 0, "table/00000000-0000-0000-0000-0000000000e2": 3}';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('player', :'r', 'A', '\x'), ('table', '00000000-0000-0000-0000-0000000000e2', 'B', '\x');
\echo :LAST_ERROR_SQLSTATE
COMMIT;
-- Read ranges.
SELECT * FROM angzarr.read_stream('player', :'r', from_sequence => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.read_stream('player', :'r', max_count => -1);
\echo :LAST_ERROR_SQLSTATE
-- Nothing was written by any of the above.
SELECT count(*) AS events FROM angzarr.events;
