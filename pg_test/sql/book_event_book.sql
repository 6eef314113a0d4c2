-- Examples of the book's SQL reference, "EventBook (protobuf)" (docs/src/reference/event-book.md),
-- included from pg_test/expected/book_event_book.out. The books are built with the internal
-- encoder so that the example says what is in them.
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
\set e1 '00000000-0000-0000-0000-0000000000e1'

-- ANCHOR: append-event-book
-- A batch of two pages without header sequences: they continue the aggregate.
SELECT angzarr._encode_event_book('player', NULL, :'e1', NULL,
           sequences => ARRAY[NULL, NULL]::bigint[],
           event_types => ARRAY['type.googleapis.com/examples.PlayerRegistered',
                                'type.googleapis.com/examples.FundsDeposited'],
           payloads => ARRAY[convert_to('{"name": "ann"}', 'UTF8'), '\x080a'::bytea],
           created_ats => ARRAY['2024-01-02 03:04:05Z', '2024-01-02 03:05:00Z']::timestamptz[],
           correlation_id => 'signup-1') AS book \gset
SELECT * FROM angzarr.append_event_book(:'book', idempotency_key => 'signup-1');
-- The same key again: the first call's range, nothing written.
SELECT * FROM angzarr.append_event_book(:'book', idempotency_key => 'signup-1');
-- A page whose header sequence is stale is a conflict.
SELECT * FROM angzarr.append_event_book(angzarr._encode_event_book('player', NULL, :'e1', NULL,
    sequences => '{1}', event_types => '{type.googleapis.com/examples.FundsDeposited}',
    payloads => ARRAY['\x0801'::bytea], created_ats => '{NULL}'));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_event_book('\xdeadbeef');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: append-event-book

-- ANCHOR: read-event-book
SELECT * FROM angzarr.put_snapshot('player', :'e1', 0, '\x080a',
    retention => 'persist', state_type => 'type.googleapis.com/examples.PlayerState');
SELECT jsonb_pretty(angzarr.event_book_to_json(angzarr.read_event_book('player', :'e1')));
-- A new aggregate: no pages, next_sequence 0.
SELECT angzarr.event_book_to_json(angzarr.read_event_book('player', '00000000-0000-0000-0000-0000000000ff'));
-- ANCHOR_END: read-event-book

-- ANCHOR: read-correlation-books
SELECT b ->> 'cover' AS cover, jsonb_array_length(b -> 'pages') AS pages, b -> 'next_sequence' AS next_sequence
  FROM angzarr.read_correlation_books('signup-1') r, angzarr.event_book_to_json(r) b;
-- ANCHOR_END: read-correlation-books

-- ANCHOR: decode
SELECT domain, edition, root, sequence, event_type, payload FROM angzarr._decode_event_book(:'book');
-- ANCHOR_END: decode
