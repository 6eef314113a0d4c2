-- Examples of the book's SQL reference, "Discovery, correlation and time travel"
-- (docs/src/reference/discovery.md), included from pg_test/expected/book_discovery.out.
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
SELECT * FROM angzarr.append_events('player', :'a', ARRAY['Joined', 'Deposited', 'Withdrawn'],
    ARRAY['\x'::bytea, '\x', '\x'],
    created_at => ARRAY['2024-01-10 00:00Z', '2024-02-20 00:00Z', '2024-03-30 00:00Z']::timestamptz[]);
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "BetPlaced"}, {"type": "FundsReserved"}]',
    correlation_id => 'hand-1');
SELECT * FROM angzarr.append_events('table', :'a', '[{"type": "HandStarted"}, {"type": "HandComplete"}]',
    correlation_id => 'hand-1');
SELECT * FROM angzarr.append_events('order', :'b', '[{"type": "Placed"}]', edition => 'sim');

-- ANCHOR: read-correlation
SELECT domain, root, sequence, event_type FROM angzarr.read_correlation('hand-1');
-- ANCHOR_END: read-correlation

-- ANCHOR: list-domains
SELECT * FROM angzarr.list_domains();
-- ANCHOR_END: list-domains

-- ANCHOR: list-roots
SELECT * FROM angzarr.list_roots('player');
SELECT * FROM angzarr.list_roots('order');
SELECT * FROM angzarr.list_roots('order', 'sim');
-- ANCHOR_END: list-roots

-- ANCHOR: next-sequence
SELECT angzarr.next_sequence('player', :'a') AS main,
       angzarr.next_sequence('player', :'a', 'fresh') AS fresh,
       angzarr.next_sequence('player', '00000000-0000-0000-0000-0000000000ff') AS unknown;
-- ANCHOR_END: next-sequence

-- ANCHOR: as-of
SELECT sequence, event_type FROM angzarr.read_as_of_sequence('player', :'a', 1);
SELECT sequence, event_type, created_at
  FROM angzarr.read_as_of_time('player', :'a', '2024-02-25 00:00Z');
-- ANCHOR_END: as-of
