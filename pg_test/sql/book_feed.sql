-- Examples of the book's SQL reference, "The global feed" (docs/src/reference/feed.md), included
-- from pg_test/expected/book_feed.out. Transaction ids differ from run to run, so the output
-- shows feed_tx as "tx", the rank of its value among the rows shown.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
-- Waits until no other transaction of the cluster holds the feed back (a parallel test or
-- autovacuum may, for a moment).
CREATE FUNCTION pg_temp.wait_for_feed() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3000 LOOP
        EXIT WHEN (SELECT held_back_events FROM angzarr.feed_lag()) = 0;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "PlayerRegistered"}, {"type": "FundsDeposited"}]');
BEGIN;
SELECT * FROM angzarr.append_events('table', :'b', '[{"type": "TableOpened"}]');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "PlayerRegistered"}]');
COMMIT;
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "FundsDeposited"}]', edition => 'what-if');
SELECT pg_temp.wait_for_feed();

-- ANCHOR: read-feed
SELECT dense_rank() OVER (ORDER BY feed_tx) AS tx, global_position, domain, edition, root, sequence, event_type
  FROM angzarr.read_feed(0, 0, 100)
 ORDER BY feed_tx, global_position;
-- ANCHOR_END: read-feed

-- ANCHOR: read-feed-filtered
SELECT domain, edition, sequence, event_type
  FROM angzarr.read_feed(domains => '{player}', editions => '{""}', event_types => '{FundsDeposited,PlayerRegistered}');
-- ANCHOR_END: read-feed-filtered

-- ANCHOR: paging
-- Page by page: the last row's (feed_tx, global_position) is the next checkpoint.
SELECT feed_tx AS cp_tx, global_position AS cp_pos FROM angzarr.read_feed(0, 0, 2)
 ORDER BY feed_tx DESC, global_position DESC LIMIT 1 \gset
SELECT domain, root, sequence, event_type FROM angzarr.read_feed(:cp_tx, :cp_pos, 2);
-- ANCHOR_END: paging

-- ANCHOR: read-feed-errors
SELECT count(*) FROM angzarr.read_feed(-1, 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM angzarr.read_feed(member => 3, members => 3);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: read-feed-errors

-- ANCHOR: feed-positions
SELECT angzarr.save_feed_position('billing', :cp_tx, :cp_pos) AS moved;
-- At or below the stored checkpoint: ignored.
SELECT angzarr.save_feed_position('billing', :cp_tx, :cp_pos - 1) AS moved;
SELECT feed_tx = :cp_tx AS same_tx, global_position = :cp_pos AS same_position, updated_at IS NOT NULL AS saved
  FROM angzarr.get_feed_position('billing');
-- A consumer that never saved one starts at (0, 0).
SELECT * FROM angzarr.get_feed_position('new-consumer');
-- Resume: the saved checkpoint, then the next page.
SELECT f.domain, f.root, f.sequence, f.event_type
  FROM angzarr.get_feed_position('billing') p,
       angzarr.read_feed(p.feed_tx, p.global_position, 500) f;
-- ANCHOR_END: feed-positions

-- ANCHOR: horizon
-- The horizon is a checkpoint: everything below it is committed and visible now.
SELECT h.global_position, bool_and(f.feed_tx < h.feed_tx) AS all_rows_below
  FROM angzarr.feed_horizon() h, angzarr.read_feed(max_count => NULL) f
 GROUP BY h.global_position;
-- A filtered read and the horizon in one statement (one snapshot): the horizon row is there
-- even when nothing matched.
SELECT h.feed_tx > 0 AS have_horizon, f.event_type
  FROM angzarr.feed_horizon() h
  LEFT JOIN LATERAL angzarr.read_feed(:cp_tx, :cp_pos, 100, domains => '{order}') f ON true;
-- ANCHOR_END: horizon

-- ANCHOR: feed-member
-- A consumer group of 2: each aggregate belongs to one member; together they read the feed.
SELECT domain, edition, root, angzarr.feed_member(domain, root, 2, edition) AS member
  FROM (SELECT DISTINCT domain, edition, root FROM angzarr.read_feed()) a ORDER BY 1, 2, 3;
SELECT m AS member, count(*) AS events
  FROM generate_series(0, 1) m, angzarr.read_feed(member => m, members => 2) GROUP BY m ORDER BY m;
-- ANCHOR_END: feed-member

-- ANCHOR: feed-lag
SELECT held_back_events, oldest_xact_pid IS NULL AS no_holder FROM angzarr.feed_lag();
-- ANCHOR_END: feed-lag

-- ANCHOR: advance-feed-clock
-- A consumer outside the database has checkpointed feed_tx 1,000,000,000 (say, in another
-- cluster): raise the clock past it, so every later event sorts after that checkpoint.
SELECT angzarr.advance_feed_clock(1000000000) > 0 AS offset_raised;
SELECT feed_tx > 1000000000 AS horizon_past_it FROM angzarr.feed_horizon();
SELECT angzarr.advance_feed_clock(-1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: advance-feed-clock

-- ANCHOR: feed-group-index
-- The index for consumer groups of 4 (in psql, \gexec runs the statement it returns).
SELECT * FROM angzarr.feed_group_index_sql(4);
SELECT angzarr.feed_group_index_sql(1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ANCHOR_END: feed-group-index
