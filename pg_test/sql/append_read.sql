-- Appending and reading one aggregate: sequences, ranges, JSON and binary payloads.
\set SHOW_CONTEXT never
SELECT * FROM angzarr.append_events('player', '00000000-0000-0000-0000-00000000000a',
    '[{"type": "Joined", "payload": {"name": "ann"}}, {"type": "Deposited", "payload": {"amount": 10}}]');
SELECT * FROM angzarr.append_events('player', '00000000-0000-0000-0000-00000000000a',
    event_types => ARRAY['Withdrawn'], payloads => ARRAY['\x0a0b'::bytea], expected_sequence => 2,
    correlation_id => 'corr-1');
SELECT sequence, event_type, angzarr.payload_json(payload) AS json, payload, correlation_id
  FROM angzarr.read_stream('player', '00000000-0000-0000-0000-00000000000a');
-- Half-open ranges and limits.
SELECT sequence FROM angzarr.read_stream('player', '00000000-0000-0000-0000-00000000000a', from_sequence => 1);
SELECT sequence FROM angzarr.read_stream('player', '00000000-0000-0000-0000-00000000000a', from_sequence => 1, to_sequence => 2);
SELECT sequence FROM angzarr.read_stream('player', '00000000-0000-0000-0000-00000000000a', from_sequence => 0, to_sequence => 0);
SELECT sequence FROM angzarr.read_stream('player', '00000000-0000-0000-0000-00000000000a', max_count => 2);
-- An unknown aggregate reads as empty.
SELECT count(*) FROM angzarr.read_stream('player', '00000000-0000-0000-0000-0000000000ff');
-- Plain INSERT continues the sequence; an explicit sequence must be exactly the next one.
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('player', '00000000-0000-0000-0000-00000000000a', 'Left', '\x') RETURNING sequence;
INSERT INTO angzarr.events (domain, root, event_type, payload, sequence)
VALUES ('player', '00000000-0000-0000-0000-00000000000a', 'Left', '\x', 4) RETURNING sequence;
INSERT INTO angzarr.events (domain, root, event_type, payload, sequence)
VALUES ('player', '00000000-0000-0000-0000-00000000000a', 'Left', '\x', 9);
-- Multi-row INSERT gets consecutive sequences; '' and NULL editions are stored as main.
INSERT INTO angzarr.events (domain, edition, root, event_type, payload)
VALUES ('table', '', '00000000-0000-0000-0000-00000000000b', 'Opened', '\x'),
       ('table', NULL, '00000000-0000-0000-0000-00000000000b', 'Seated', '\x'),
       ('table', 'angzarr', '00000000-0000-0000-0000-00000000000b', 'Dealt', '\x')
RETURNING edition, sequence;
-- A stale expected sequence is refused and writes nothing.
SELECT * FROM angzarr.append_events('table', '00000000-0000-0000-0000-00000000000b',
    '[{"type": "Dealt"}]', expected_sequence => 1);
SELECT count(*) FROM angzarr.events WHERE domain = 'table';
-- Must-be-new.
SELECT * FROM angzarr.append_events('table', '00000000-0000-0000-0000-00000000000b',
    '[{"type": "Opened"}]', expected_sequence => 0);
SELECT * FROM angzarr.append_events('table', '00000000-0000-0000-0000-00000000000c',
    '[{"type": "Opened"}]', expected_sequence => 0);
