-- The psql tutorial of the book (docs/src/tutorial.md) and the README's session: the book
-- includes the regions between ANCHOR lines from pg_test/expected/book_tutorial.out, so what it
-- shows is what this test printed. Fixed UUIDs, no times or transaction ids in the output.
\set SHOW_CONTEXT never
\set ann '00000000-0000-0000-0000-0000000000a1'
\set bob '00000000-0000-0000-0000-0000000000b2'
\set order1 '00000000-0000-0000-0000-0000000000c3'

-- ANCHOR: readme
-- A new account: expected_sequence => 0 means "must be new".
SELECT * FROM angzarr.append_events('account', :'ann',
    '[{"type": "Opened", "payload": {"owner": "ann"}},
      {"type": "Deposited", "payload": {"amount": 100}}]',
    expected_sequence => 0);
-- A writer that decided on those 2 events appends at 2 ...
SELECT * FROM angzarr.append_events('account', :'ann',
    '[{"type": "Withdrawn", "payload": {"amount": 30}}]', expected_sequence => 2);
-- ... and one that loaded them before that withdrawal is refused: reload and retry.
SELECT * FROM angzarr.append_events('account', :'ann',
    '[{"type": "Withdrawn", "payload": {"amount": 90}}]', expected_sequence => 2);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT sequence, event_type, angzarr.payload_json(payload) AS payload
  FROM angzarr.read_stream('account', :'ann');
-- ANCHOR_END: readme

-- ANCHOR: next-sequence
-- What a writer needs to know before it decides: the next sequence (0 for a new aggregate).
SELECT angzarr.next_sequence('account', :'ann') AS ann, angzarr.next_sequence('account', :'bob') AS bob;
-- ANCHOR_END: next-sequence

-- ANCHOR: binary
-- Payloads are bytes (protobuf in angzarr applications); JSON is a convenience.
SELECT * FROM angzarr.append_events('account', :'bob', ARRAY['Opened', 'Deposited'],
    ARRAY['\x0a03626f62'::bytea, '\x0832'], expected_sequence => 0, correlation_id => 'signup-7');
SELECT sequence, event_type, payload, correlation_id FROM angzarr.read_stream('account', :'bob');
-- ANCHOR_END: binary

-- ANCHOR: insert
-- A plain INSERT is sequenced and checked by the same trigger. Several aggregates in one
-- transaction, each with the next sequence the writer expects:
BEGIN;
SET LOCAL angzarr.expected_sequences =
    '{"order/00000000-0000-0000-0000-0000000000c3": 0, "account/00000000-0000-0000-0000-0000000000b2": 2}';
INSERT INTO angzarr.events (domain, root, event_type, payload, correlation_id) VALUES
    ('order', :'order1', 'OrderPlaced', convert_to('{"total": 20}', 'UTF8'), 'order-1'),
    ('account', :'bob', 'Withdrawn', convert_to('{"amount": 20}', 'UTF8'), 'order-1');
COMMIT;
SELECT domain, root, sequence, event_type FROM angzarr.read_correlation('order-1');
-- ANCHOR_END: insert

-- ANCHOR: immutable
-- History is immutable.
UPDATE angzarr.events SET payload = '\x' WHERE root = :'ann';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: immutable

-- ANCHOR: snapshot
-- A snapshot at sequence 2 holds the state after events 0..2; loading starts from it.
SELECT * FROM angzarr.put_snapshot('account', :'ann', 2, convert_to('{"balance": 70}', 'UTF8'),
    state_type => 'AccountState');
SELECT * FROM angzarr.append_events('account', :'ann', '[{"type": "Deposited", "payload": {"amount": 5}}]',
    expected_sequence => 3);
SELECT kind, sequence, type, angzarr.payload_json(data) AS data
  FROM angzarr.load_aggregate('account', :'ann');
-- ANCHOR_END: snapshot

-- ANCHOR: positions
-- A handler remembers how far it got in each aggregate; positions never move back.
SELECT angzarr.save_position('account', :'ann', 'statements', 3);
SELECT angzarr.save_position('account', :'ann', 'statements', 1);
SELECT handler, domain, root, position, last_sequence, lag FROM angzarr.handler_lag;
-- ANCHOR_END: positions

-- ANCHOR: edition
-- An edition is a named timeline: this one shares main's events 0 and 1 of every account.
SELECT angzarr.create_edition('what-if', '{"account": 2}');
SELECT * FROM angzarr.append_events('account', :'ann',
    '[{"type": "Withdrawn", "payload": {"amount": 100}}]', edition => 'what-if', expected_sequence => 2);
SELECT sequence, event_type, payload, stored_in FROM angzarr.show_stream('account', :'ann', 'what-if');
SELECT angzarr.discard_edition('what-if');
-- ANCHOR_END: edition

-- The feed below must see every committed event: wait until no other transaction of the
-- cluster holds it back (a parallel test or autovacuum may, for a moment).
DO $$
BEGIN
    FOR i IN 1..3000 LOOP
        EXIT WHEN (SELECT held_back_events FROM angzarr.feed_lag()) = 0;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;

-- ANCHOR: feed
-- The feed: every committed event of every aggregate, in one stable order. A consumer reads
-- a page from its checkpoint (0, 0 at first) ...
SELECT domain, root, sequence, event_type FROM angzarr.read_feed(0, 0, 3);
-- ... and keeps the last row's (feed_tx, global_position) as its next checkpoint.
SELECT angzarr.save_feed_position('statements', feed_tx, global_position)
  FROM angzarr.read_feed(0, 0, 3) ORDER BY feed_tx DESC, global_position DESC LIMIT 1;
SELECT f.domain, f.root, f.sequence, f.event_type
  FROM angzarr.get_feed_position('statements') p,
       angzarr.read_feed(p.feed_tx, p.global_position, 100) f;
-- ANCHOR_END: feed
