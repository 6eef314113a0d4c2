-- Discovery and time travel: domains, roots, next sequence, reads as of a sequence or a time.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
\set c '00000000-0000-0000-0000-00000000000c'
-- An empty store has no domains and no roots; a new aggregate's next sequence is 0.
SELECT count(*) AS domains FROM angzarr.list_domains();
SELECT count(*) AS roots FROM angzarr.list_roots('player');
SELECT angzarr.next_sequence('player', :'a');

INSERT INTO angzarr.events (domain, root, event_type, payload, created_at)
VALUES ('player', :'a', 'Joined', '\x', '2024-01-10 00:00Z'),
       ('player', :'a', 'Deposited', '\x', '2024-03-10 00:00Z'),
       -- A writer whose transaction started earlier can commit a later sequence.
       ('player', :'a', 'Deposited', '\x', '2024-02-10 00:00Z'),
       ('player', :'a', 'Withdrawn', '\x', '2024-04-10 00:00Z');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Joined"}]');
SELECT * FROM angzarr.append_events('table', :'c', '[{"type": "Opened"}]');
SELECT * FROM angzarr.append_events('order', :'c', '[{"type": "Placed"}]', edition => 'sim');
SELECT * FROM angzarr.append_events('player', :'c', '[{"type": "Joined"}]', edition => 'sim');

-- Domains with events in any edition, in name order.
SELECT domain FROM angzarr.list_domains();
-- Roots of a domain with events of their own in an edition, as angzarr's backends list them.
SELECT root FROM angzarr.list_roots('player');
SELECT root FROM angzarr.list_roots('player', 'sim');
SELECT root FROM angzarr.list_roots('order');
SELECT root FROM angzarr.list_roots('order', 'sim');
SELECT root FROM angzarr.list_roots('nothing');
-- inherited => true adds the main roots a named edition shares (every root read_stream finds
-- events for in it); on main it changes nothing.
SELECT root FROM angzarr.list_roots('player', 'sim', inherited => true);
SELECT root FROM angzarr.list_roots('player', inherited => true);
-- A misspelt edition has no roots of its own (0.1.0 listed every root of main here).
SELECT count(*) AS typo_roots FROM angzarr.list_roots('player', 'smi');
SELECT count(*) AS typo_inherited FROM angzarr.list_roots('player', 'smi', inherited => true);
-- An edition diverging at 0 for a domain shares none of main's player roots.
SELECT angzarr.create_edition('fresh', '{"player": 0}');
SELECT root FROM angzarr.list_roots('player', 'fresh', inherited => true);
-- After discard_edition the edition has no roots of its own left.
BEGIN;
SELECT angzarr.discard_edition('sim');
SELECT count(*) AS discarded_roots FROM angzarr.list_roots('player', 'sim');
SELECT count(*) AS discarded_order_roots FROM angzarr.list_roots('order', 'sim');
ROLLBACK;

-- Next sequence: 0 for a new aggregate, composite on editions.
SELECT angzarr.next_sequence('player', :'a') AS a_main,
       angzarr.next_sequence('player', :'a', 'sim') AS a_sim,
       angzarr.next_sequence('player', :'a', 'fresh') AS a_fresh,
       angzarr.next_sequence('player', :'c', 'sim') AS c_sim,
       angzarr.next_sequence('player', '00000000-0000-0000-0000-0000000000ff') AS unknown;

-- As of a sequence (inclusive).
SELECT sequence, event_type FROM angzarr.read_as_of_sequence('player', :'a', 1);
SELECT sequence, event_type FROM angzarr.read_as_of_sequence('player', :'a', 0);
SELECT count(*) FROM angzarr.read_as_of_sequence('player', :'a', 99);
SELECT count(*) FROM angzarr.read_as_of_sequence('player', :'a', 9223372036854775807);
SELECT count(*) FROM angzarr.read_as_of_sequence('player', :'a', -1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- As of a time: the gap-free prefix created at or before it. On Feb 15 only event 0 is
-- history: event 1 (March) is not, so event 2 (February) cannot follow it yet.
SELECT sequence, event_type FROM angzarr.read_as_of_time('player', :'a', '2024-02-15 00:00Z');
SELECT sequence, event_type FROM angzarr.read_as_of_time('player', :'a', '2024-03-10 00:00Z');
SELECT count(*) FROM angzarr.read_as_of_time('player', :'a', '2023-12-31 00:00Z');
SELECT count(*) FROM angzarr.read_as_of_time('player', :'a', 'infinity');
SELECT count(*) FROM angzarr.read_as_of_time('player', :'a', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Ranges are half-open [from, to); [0, 0) and [n, n) are empty, not errors.
SELECT sequence FROM angzarr.read_stream('player', :'a', from_sequence => 1, to_sequence => 3);
SELECT count(*) FROM angzarr.read_stream('player', :'a', from_sequence => 0, to_sequence => 0);
SELECT count(*) FROM angzarr.read_stream('player', :'a', from_sequence => 2, to_sequence => 2);
SELECT count(*) FROM angzarr.read_stream('player', :'a', from_sequence => 3, to_sequence => 1);
SELECT count(*) FROM angzarr.read_stream('player', :'a', from_sequence => -1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Discovery walks an index (one probe per domain or root: the primary key, or for domains the
-- narrower events_domain_feed_idx) rather than reading every event: no sequential scan even
-- when the planner is told to avoid them only.
CREATE FUNCTION pg_temp.plan(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END
$$;
SET enable_seqscan = off;
SELECT bool_or(line LIKE '%Seq Scan%') AS seq_scan,
       bool_or(line LIKE '%events_stream_key%' OR line LIKE '%events_domain_feed_idx%') AS by_index,
       bool_or(line LIKE '%Recursive Union%') AS loose_scan
  FROM pg_temp.plan('SELECT * FROM angzarr.list_domains()') line;
SELECT bool_or(line LIKE '%Seq Scan%') AS seq_scan,
       bool_or(line LIKE '%events_stream_key%' OR line LIKE '%events_domain_feed_idx%') AS by_index,
       bool_or(line LIKE '%Recursive Union%') AS loose_scan
  FROM pg_temp.plan('SELECT * FROM angzarr.list_roots(''player'')') line;
RESET enable_seqscan;
