-- The global feed as one psql user sees it: order, checkpoints, filters, consumer groups,
-- feed positions, lag and argument errors. Concurrency lives in pg_test/specs/feed_*.spec.
\set SHOW_CONTEXT never
-- Another transaction anywhere on the cluster (autovacuum, a parallel test) may hold the feed
-- back for a moment; wait until every committed event of this database is readable.
CREATE FUNCTION wait_for_feed() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3000 LOOP
        IF (SELECT held_back_events FROM angzarr.feed_lag()) = 0 THEN
            RETURN;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RAISE EXCEPTION 'the feed is still held back after 30 s';
END
$$;
-- An empty store has an empty feed; the horizon is a checkpoint like any other.
SELECT count(*) FROM angzarr.read_feed();
SELECT feed_tx > 0 AS horizon_tx_positive, global_position FROM angzarr.feed_horizon();
-- Three transactions: two aggregates of 'player', one of 'table', a named edition.
SELECT * FROM angzarr.append_events('player', '00000000-0000-0000-0000-00000000000a',
    '[{"type": "Joined"}, {"type": "Deposited"}]');
BEGIN;
SELECT * FROM angzarr.append_events('table', '00000000-0000-0000-0000-00000000000b',
    '[{"type": "Opened"}]', correlation_id => 'corr-1');
SELECT * FROM angzarr.append_events('player', '00000000-0000-0000-0000-00000000000a',
    '[{"type": "Seated"}]', correlation_id => 'corr-1');
COMMIT;
SELECT * FROM angzarr.append_events('player', '00000000-0000-0000-0000-00000000000c',
    '[{"type": "Joined"}]', edition => 'what-if');
SELECT wait_for_feed();
-- Feed order: by transaction, then by position; one transaction's events share feed_tx.
-- tx numbers the distinct feed_tx values (raw transaction ids vary from run to run).
SELECT dense_rank() OVER (ORDER BY feed_tx) AS tx, domain, edition, root, sequence, event_type,
       correlation_id
  FROM angzarr.read_feed()
 ORDER BY feed_tx, global_position;
-- Positions grow along the feed here (single writer), and every row is below the horizon.
SELECT bool_and(global_position > prev) AS positions_grow, bool_and(feed_tx >= prev_tx) AS tx_grow,
       bool_and(feed_tx < (SELECT feed_tx FROM angzarr.feed_horizon())) AS below_horizon
  FROM (SELECT global_position, feed_tx,
               lag(global_position, 1, 0::bigint) OVER w AS prev, lag(feed_tx, 1, 0::bigint) OVER w AS prev_tx
          FROM angzarr.read_feed() WINDOW w AS (ORDER BY feed_tx, global_position)) f;
-- Paging: the last row's (feed_tx, global_position) is the checkpoint to resume from.
SELECT feed_tx AS cp_tx, global_position AS cp_pos
  FROM angzarr.read_feed(max_count => 2) ORDER BY feed_tx DESC, global_position DESC LIMIT 1 \gset
SELECT domain, sequence, event_type FROM angzarr.read_feed(:cp_tx, :cp_pos, 2) ORDER BY feed_tx, global_position;
SELECT feed_tx AS cp_tx, global_position AS cp_pos
  FROM angzarr.read_feed(:cp_tx, :cp_pos, 2) ORDER BY feed_tx DESC, global_position DESC LIMIT 1 \gset
SELECT domain, sequence, event_type FROM angzarr.read_feed(:cp_tx, :cp_pos, 2) ORDER BY feed_tx, global_position;
-- Pages of any size concatenate to the same feed.
SELECT array_agg(id ORDER BY feed_tx, global_position) = (SELECT array_agg(id ORDER BY feed_tx, global_position)
                                                            FROM angzarr.read_feed(max_count => NULL))
       AS one_row_pages_match
  FROM (WITH RECURSIVE page AS (
            SELECT f.* FROM angzarr.read_feed(0, 0, 1) f
            UNION ALL
            SELECT n.* FROM page p, LATERAL angzarr.read_feed(p.feed_tx, p.global_position, 1) n)
        SELECT * FROM page) pages;
-- max_count 0 reads nothing; NULL reads everything.
SELECT count(*) FROM angzarr.read_feed(max_count => 0);
SELECT count(*) FROM angzarr.read_feed(max_count => NULL);
-- Filters: domains, editions ('' and NULL inside the array mean main), event types.
SELECT domain, sequence, event_type FROM angzarr.read_feed(domains => '{table}') ORDER BY feed_tx, global_position;
SELECT domain, edition, sequence FROM angzarr.read_feed(editions => '{what-if}') ORDER BY feed_tx, global_position;
SELECT domain, edition, sequence FROM angzarr.read_feed(editions => '{""}') ORDER BY feed_tx, global_position;
SELECT domain, sequence, event_type FROM angzarr.read_feed(event_types => '{Joined,Opened}')
 ORDER BY feed_tx, global_position;
SELECT domain, sequence, event_type
  FROM angzarr.read_feed(domains => '{player}', editions => '{angzarr}', event_types => '{Seated}');
SELECT count(*) AS empty_filter FROM angzarr.read_feed(domains => '{}');
-- A filtered reader whose filter matches nothing still advances: it takes the horizon BEFORE
-- reading, and when the page is short it moves its checkpoint up to the horizon.
SELECT feed_tx AS h_tx, global_position AS h_pos FROM angzarr.feed_horizon() \gset
SELECT count(*) FROM angzarr.read_feed(0, 0, 100, domains => '{lobby}');
SELECT * FROM angzarr.append_events('lobby', '00000000-0000-0000-0000-00000000000d', '[{"type": "Created"}]');
SELECT wait_for_feed();
-- From the horizon on, only what was committed after it.
SELECT domain, sequence, event_type FROM angzarr.read_feed(:h_tx, :h_pos, 100, domains => '{lobby}');
SELECT domain, sequence, event_type FROM angzarr.read_feed(:h_tx, :h_pos) ORDER BY feed_tx, global_position;
-- Consumer groups: member m of n gets exactly the aggregates that hash to m, in feed order.
INSERT INTO angzarr.events (domain, root, event_type, payload)
SELECT 'seat', ('00000000-0000-0000-0000-0000000001' || lpad(g::text, 2, '0'))::uuid, 'Reserved', '\x'
  FROM generate_series(1, 30) g, generate_series(1, 2) twice;
SELECT wait_for_feed();
SELECT m AS member, count(*) AS events, count(DISTINCT (f.domain, f.edition, f.root)) AS aggregates,
       bool_and(angzarr.feed_member(f.domain, f.root, 3, f.edition) = m) AS hash_matches
  FROM generate_series(0, 2) m, angzarr.read_feed(member => m, members => 3) f
 GROUP BY m ORDER BY m;
-- Disjoint and complete: every event goes to exactly one member, in the feed's own order.
SELECT count(*) AS events, count(DISTINCT f.id) AS distinct_events,
       (SELECT count(*) FROM angzarr.read_feed()) AS feed_events
  FROM generate_series(0, 2) m, angzarr.read_feed(member => m, members => 3) f;
SELECT bool_and(ok) AS member_order_is_feed_order
  FROM (SELECT array_agg(f.id ORDER BY f.feed_tx, f.global_position)
               = ARRAY(SELECT a.id FROM angzarr.read_feed(member => m, members => 3) a) AS ok
          FROM generate_series(0, 2) m, angzarr.read_feed() f
         WHERE angzarr.feed_member(f.domain, f.root, 3, f.edition) = m
         GROUP BY m) x;
-- One member of one is everything; feed_member is stable and in range.
SELECT count(*) FROM angzarr.read_feed(member => 0, members => 1);
SELECT angzarr.feed_member('player', '00000000-0000-0000-0000-00000000000a', 1) AS of_one,
       angzarr.feed_member('player', '00000000-0000-0000-0000-00000000000a', 7)
       = angzarr.feed_member('player', '00000000-0000-0000-0000-00000000000a', 7, '') AS main_spellings_agree;
SELECT bool_and(angzarr.feed_member('d', gen_random_uuid(), 5) BETWEEN 0 AND 4) AS in_range
  FROM generate_series(1, 200);
-- Uncommitted events are invisible, also to their own writer; rolled-back ones never appear.
BEGIN;
SELECT * FROM angzarr.append_events('lobby', '00000000-0000-0000-0000-00000000000d', '[{"type": "Renamed"}]');
SELECT count(*) AS own_uncommitted_visible FROM angzarr.read_feed(domains => '{lobby}') WHERE event_type = 'Renamed';
-- This transaction holds the feed back: the horizon is at or below its own id.
SELECT horizon_feed_tx <= pg_current_xact_id()::text::bigint AS held_back_by_me, held_back_events >= 1 AS counts_mine
  FROM angzarr.feed_lag();
ROLLBACK;
BEGIN;
SELECT * FROM angzarr.append_events('lobby', '00000000-0000-0000-0000-00000000000d', '[{"type": "Kept"}]');
SAVEPOINT s;
SELECT * FROM angzarr.append_events('lobby', '00000000-0000-0000-0000-00000000000d', '[{"type": "Undone"}]');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT wait_for_feed();
SELECT sequence, event_type FROM angzarr.read_feed(domains => '{lobby}') ORDER BY feed_tx, global_position;
-- Nothing running: nothing held back, nobody holding it. (Autovacuum's ANALYZE of the
-- many tables a test run creates takes a transaction id now and then: wait until none runs.)
DO $$
BEGIN
    FOR i IN 1..3000 LOOP
        EXIT WHEN (SELECT oldest_xact_pid IS NULL FROM angzarr.feed_lag());
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;
SELECT held_back_events, oldest_xact_pid IS NULL AS no_holder, horizon_feed_tx = (SELECT feed_tx FROM angzarr.feed_horizon()) AS same_horizon
  FROM angzarr.feed_lag();
-- Feed positions: a checkpoint per consumer that only moves forward.
SELECT * FROM angzarr.get_feed_position('billing');
SELECT angzarr.save_feed_position('billing', 10, 5) AS saved;
SELECT angzarr.save_feed_position('billing', 10, 4) AS lower_position;
SELECT angzarr.save_feed_position('billing', 9, 99) AS lower_tx;
SELECT angzarr.save_feed_position('billing', 10, 5) AS same;
SELECT feed_tx, global_position, updated_at IS NOT NULL AS saved FROM angzarr.get_feed_position('billing');
SELECT angzarr.save_feed_position('billing', 11, 0) AS higher_tx;
SELECT angzarr.save_feed_position('billing/0-of-3', 3, 1) AS other_consumer;
SELECT consumer, feed_tx, global_position FROM angzarr.feed_positions ORDER BY consumer;
-- A saved checkpoint resumes read_feed directly.
SELECT angzarr.save_feed_position('tail', :h_tx, :h_pos);
SELECT f.domain, f.sequence, f.event_type
  FROM angzarr.get_feed_position('tail') p, angzarr.read_feed(p.feed_tx, p.global_position, 1) f;
-- Argument errors: 22023 with a hint.
\set VERBOSITY default
SELECT * FROM angzarr.read_feed(-1, 0);
SELECT * FROM angzarr.read_feed(NULL, 0);
SELECT * FROM angzarr.read_feed(0, 0, -5);
SELECT * FROM angzarr.read_feed(member => 3, members => 3);
SELECT * FROM angzarr.read_feed(member => -1, members => 3);
SELECT * FROM angzarr.read_feed(members => 0);
SELECT angzarr.feed_member('player', '00000000-0000-0000-0000-00000000000a', 0);
SELECT angzarr.save_feed_position('', 1, 1);
SELECT angzarr.save_feed_position(NULL, 1, 1);
SELECT angzarr.save_feed_position('billing', -1, 1);
SELECT angzarr.save_feed_position('billing', 1, NULL);
\set VERBOSITY terse
-- SQLSTATEs of the errors above.
DO $$
DECLARE
    calls text[] := ARRAY[
        'SELECT * FROM angzarr.read_feed(-1, 0)',
        'SELECT * FROM angzarr.read_feed(member => 3, members => 3)',
        'SELECT angzarr.feed_member(''p'', gen_random_uuid(), 0)',
        'SELECT angzarr.save_feed_position('''', 1, 1)'];
    c text;
BEGIN
    FOREACH c IN ARRAY calls LOOP
        BEGIN
            EXECUTE c;
            RAISE NOTICE '% succeeded', c;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '%: %', SQLSTATE, c;
        END;
    END LOOP;
END
$$;
-- Every feed function says what it is for.
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS has_comment
  FROM pg_proc p
 WHERE p.pronamespace = 'angzarr'::regnamespace
   AND p.proname IN ('read_feed', 'feed_horizon', 'feed_member', '_feed_member', '_check_feed_read',
                     'feed_lag', 'save_feed_position', 'get_feed_position')
 ORDER BY 1, 2;
