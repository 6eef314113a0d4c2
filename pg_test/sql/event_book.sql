-- angzarr's protobuf EventBook in and out of the store. The books below were encoded with prost
-- from the angzarr_store_proto types: src/wire/tests.rs builds them (fixtures()) and fails when
-- these bytes differ from what it encodes.
\set SHOW_CONTEXT never
\set append '\\x0a270a120a10000000000000000000000000000000e11206706c617965721a09636f72722d626f6f6b1a4a120608a5facdac061a400a2d747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e506c6179657252656769737465726564120f7b226e616d65223a2022616e6e227d1a331a310a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f73697465641202080a'
\set explicit '\\x0a270a120a10000000000000000000000000000000e11206706c617965721a09636f72722d626f6f6b1a370a0208021a310a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f736974656412020805'
\set stale '\\x0a270a120a10000000000000000000000000000000e11206706c617965721a09636f72722d626f6f6b1a370a0208011a310a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f736974656412020801'
\set edition '\\x0a270a120a10000000000000000000000000000000e11206706c6179657222090a07776861742d69661a331a310a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f736974656412020863'
\set no_cover '\\x1a2f1a2d0a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f7369746564'
\set no_root '\\x0a081206706c617965721a2f1a2d0a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f7369746564'
\set no_domain '\\x0a140a120a10000000000000000000000000000000e11a2f1a2d0a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f7369746564'
\set short_root '\\x0a1b0a110a0f0000000000000000000000000000001206706c617965721a2f1a2d0a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f7369746564'
\set no_pages '\\x0a270a120a10000000000000000000000000000000e11206706c617965721a09636f72722d626f6f6b'
\set no_event '\\x0a270a120a10000000000000000000000000000000e11206706c617965721a09636f72722d626f6f6b1a2f1a2d0a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f73697465641a00'
\set root '00000000-0000-0000-0000-0000000000e1'
-- Shows a book as JSON without the times of events appended by this test (they are now()).
CREATE FUNCTION pg_temp.show(book bytea) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_set(j, '{pages}', coalesce((
        SELECT jsonb_agg(CASE WHEN p ->> 'created_at' LIKE '2024%' THEN p ELSE p - 'created_at' END
                         ORDER BY n)
          FROM jsonb_array_elements(j -> 'pages') WITH ORDINALITY AS x(p, n)), '[]'))
      FROM angzarr.event_book_to_json(book) j
$$;

-- The decoder: one row per page; the cover repeats on every row; no header = no sequence.
SELECT domain, edition, root, correlation_id, sequence, event_type, payload, created_at
  FROM angzarr._decode_event_book(:'append');

-- Appending: pages without a header sequence continue the aggregate (here from 0); a page's
-- created_at is kept, a page without one gets the transaction time.
SELECT * FROM angzarr.append_event_book(:'append');
SELECT sequence, event_type, correlation_id, angzarr._payload_text(payload) AS payload,
       created_at = '2024-01-02 03:04:05Z' AS kept_created_at
  FROM angzarr.read_stream('player', :'root');

-- A header sequence is the sequence the page must get: the next one is accepted ...
SELECT * FROM angzarr.append_event_book(:'explicit');
-- ... a stale one is a conflict (ZA001) and writes nothing.
SELECT * FROM angzarr.append_event_book(:'stale');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS events FROM angzarr.events WHERE root = :'root';

-- A book in a named edition continues the composite history (main's 0..2, then its own).
SELECT * FROM angzarr.append_event_book(:'edition');
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'root', edition => 'what-if');

-- Bad books are refused with their reason, and write nothing.
SELECT * FROM angzarr.append_event_book('\xdeadbeef');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book(substring(:'append'::bytea FROM 1 FOR 60));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book(:'no_cover');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book(:'no_root');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book(:'no_domain');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book(:'short_root');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book(:'no_pages');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book(:'no_event');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_event_book('\x');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS events FROM angzarr.events;

-- Idempotent book appends: the repeat returns the first range and writes nothing.
SELECT * FROM angzarr.append_event_book(:'edition', idempotency_key => 'book-1');
SELECT * FROM angzarr.append_event_book(:'edition', idempotency_key => 'book-1');
SELECT count(*) AS events FROM angzarr.events WHERE edition = 'what-if';

-- Reading: the whole history as a book, each page with its sequence, next_sequence set.
SELECT jsonb_pretty(pg_temp.show(angzarr.read_event_book('player', :'root')));
-- With a snapshot: the snapshot, then only the pages after it.
SELECT * FROM angzarr.put_snapshot('player', :'root', 1, convert_to('{"balance": 10}', 'UTF8'), retention => 'persist',
                            state_type => 'type.googleapis.com/examples.PlayerState');
SELECT jsonb_pretty(pg_temp.show(angzarr.read_event_book('player', :'root')));
-- use_snapshot => false reads every page again.
SELECT jsonb_array_length(pg_temp.show(angzarr.read_event_book('player', :'root', use_snapshot => false)) -> 'pages') AS pages;
-- An edition's book: shared main pages, own pages, and main's snapshot below the divergence.
SELECT jsonb_pretty(pg_temp.show(angzarr.read_event_book('player', :'root', 'what-if')));
-- An aggregate without events: a book with no pages and next_sequence 0.
SELECT angzarr.event_book_to_json(angzarr.read_event_book('player', '00000000-0000-0000-0000-0000000000ff'));

-- A book read back names the same aggregate and sequences: appending it again is a conflict.
SELECT * FROM angzarr.append_event_book(angzarr.read_event_book('player', :'root', use_snapshot => false));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- A 100 KB snapshot state comes back whole.
SELECT * FROM angzarr.put_snapshot('player', :'root', 2, decode(repeat('ab', 102400), 'hex'), retention => 'transient');
SELECT pg_temp.show(angzarr.read_event_book('player', :'root')) -> 'snapshot' AS snapshot;

-- Correlation as books: one per aggregate with that correlation id.
SELECT pg_temp.show(b) -> 'cover' AS cover, jsonb_array_length(pg_temp.show(b) -> 'pages') AS pages
  FROM angzarr.read_correlation_books('corr-book') b;

-- event_book_to_json refuses what is not a book.
SELECT angzarr.event_book_to_json('\x0a05');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- A batch to append, built in SQL: a NULL sequence is a page without a header sequence
-- (angzarr's deferred sequence), and a NULL next_sequence leaves that field unset. Pages
-- without sequences state no expectation: all of them are appended, continuing the aggregate.
SELECT angzarr.event_book_to_json(angzarr._encode_event_book('player', NULL, '00000000-0000-0000-0000-0000000000e2', NULL,
    ARRAY[NULL, NULL]::bigint[], ARRAY['A', 'B'], ARRAY['\x'::bytea, '\x'], ARRAY[NULL, NULL]::timestamptz[])) AS book;
SELECT * FROM angzarr.append_event_book(angzarr._encode_event_book('player', NULL, '00000000-0000-0000-0000-0000000000e2', NULL,
    ARRAY[NULL, NULL, NULL]::bigint[], ARRAY['A', 'B', 'C'], ARRAY['\x'::bytea, '\x', '\x'], ARRAY[NULL, NULL, NULL]::timestamptz[]));
-- A first page with a sequence expects the batch to start there; the deferred pages follow it.
SELECT * FROM angzarr.append_event_book(angzarr._encode_event_book('player', NULL, '00000000-0000-0000-0000-0000000000e2', NULL,
    ARRAY[3, NULL]::bigint[], ARRAY['D', 'E'], ARRAY['\x'::bytea, '\x'], ARRAY[NULL, NULL]::timestamptz[]));
SELECT * FROM angzarr.append_event_book(angzarr._encode_event_book('player', NULL, '00000000-0000-0000-0000-0000000000e2', NULL,
    ARRAY[3, NULL]::bigint[], ARRAY['late', 'late'], ARRAY['\x'::bytea, '\x'], ARRAY[NULL, NULL]::timestamptz[]));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT sequence, event_type FROM angzarr.read_stream('player', '00000000-0000-0000-0000-0000000000e2');

-- The encoder behind read_event_book() refuses a missing root with 23502 and checks names
-- before it builds anything (a snapshot of any size is not copied for a bad name).
SELECT angzarr._encode_event_book('player', NULL, NULL, 0);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr._encode_event_book('a/b', NULL, '00000000-0000-0000-0000-0000000000e1', 0,
    snapshot_sequence => 0, snapshot_state => convert_to(repeat('s', 52428800), 'UTF8'));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
