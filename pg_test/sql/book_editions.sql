-- Examples of the book's SQL reference, "Editions" (docs/src/reference/editions.md), included
-- from pg_test/expected/book_editions.out.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
SELECT * FROM angzarr.append_events('player', :'a',
    '[{"type": "M0"}, {"type": "M1"}, {"type": "M2"}, {"type": "M3"}]');

-- ANCHOR: create-edition
-- 'rewind' shares main's events 0 and 1 of every player aggregate, then has its own.
SELECT angzarr.create_edition('rewind', '{"player": 2}');
-- Repeating the same point changes nothing (a retried call succeeds); another point is refused.
SELECT angzarr.create_edition('rewind', '{"player": 2}');
SELECT angzarr.create_edition('rewind', '{"player": 3}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'rewind');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "R2"}, {"type": "R3"}, {"type": "R4"}]',
    edition => 'rewind', expected_sequence => 2);
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'rewind');
-- ANCHOR_END: create-edition

-- ANCHOR: implicit-edition
-- An edition nobody created shares all of main's history until it writes.
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "I4"}]', edition => 'implicit');
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'implicit');
-- Too late to give it a divergence point for player: it has events there.
SELECT angzarr.create_edition('implicit', '{"player": 1}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: implicit-edition

-- ANCHOR: list-editions
SELECT name, created, divergences, event_count FROM angzarr.list_editions() ORDER BY name;
-- ANCHOR_END: list-editions

-- ANCHOR: discard-edition
SELECT angzarr.discard_edition('rewind');
SELECT angzarr.discard_edition('rewind');
SELECT count(*) AS rewind_reads_main FROM angzarr.read_stream('player', :'a', edition => 'rewind');
SELECT angzarr.discard_edition('angzarr');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: discard-edition
