-- Filtered feed reads cost what they return: read_feed(domains => ...), (event_types => ...)
-- and a consumer group member with its group's index read about one row per row returned,
-- where the unfiltered feed order would read past every other event. The rows come in feed
-- order, exactly the filtered global feed, page after page.
\set SHOW_CONTEXT never
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
-- 20,000 events of 'ff_common' with 1% of aggregates in 'ff_rare', interleaved in feed order,
-- in 50 transactions; every 100th event of 'ff_common' is a 'Rare' event type.
DO $$
BEGIN
    FOR t IN 0..49 LOOP
        FOR a IN 0..39 LOOP
            PERFORM angzarr.append_events(
                CASE WHEN (t * 40 + a) % 100 = 0 THEN 'ff_rare' ELSE 'ff_common' END,
                md5('ff' || (t * 40 + a))::uuid,
                ARRAY(SELECT CASE WHEN (t * 40 + a) % 10 = 3 AND i = 0 THEN 'Rare' ELSE 'Common' END
                        FROM generate_series(0, 9) i),
                array_fill(''::bytea, ARRAY[10]));
        END LOOP;
        COMMIT;
    END LOOP;
END
$$;
SELECT wait_for_feed();
-- Fresh statistics (the whole table fits ANALYZE's sample, so plans do not vary by run).
ANALYZE angzarr.events;
SELECT domain, count(*) FROM angzarr.events WHERE domain LIKE 'ff\_%' GROUP BY 1 ORDER BY 1;
-- Rows examined per row returned, from this transaction's own statistics counters: heap rows
-- of angzarr.events fetched through each of its indexes (counted per index) or by a bitmap
-- scan, plus rows read by sequential scans.
CREATE FUNCTION examined() RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_stat_get_xact_tuples_fetched('angzarr.events'::regclass)
         + pg_stat_get_xact_tuples_returned('angzarr.events'::regclass)
         + (SELECT coalesce(sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)), 0)
              FROM pg_index i WHERE i.indrelid = 'angzarr.events'::regclass)
$$;
CREATE FUNCTION cost_per_row(query text, OUT returned bigint, OUT examined_per_row numeric)
LANGUAGE plpgsql AS $$
DECLARE
    before bigint := examined();
BEGIN
    EXECUTE 'SELECT count(*) FROM (' || query || ') q' INTO returned;
    examined_per_row := round((examined() - before)::numeric / greatest(returned, 1), 2);
END
$$;
-- Pages of 50 from the start of the feed.
BEGIN;
SELECT * FROM cost_per_row($$SELECT * FROM angzarr.read_feed(max_count => 50, domains => ARRAY['ff_rare'])$$);
SELECT * FROM cost_per_row($$SELECT * FROM angzarr.read_feed(max_count => 50, domains => ARRAY['ff_rare', 'ff_rare'])$$);
SELECT * FROM cost_per_row($$SELECT * FROM angzarr.read_feed(max_count => 50, event_types => ARRAY['Rare'])$$);
SELECT * FROM cost_per_row($$SELECT * FROM angzarr.read_feed(max_count => 50, event_types => ARRAY['Rare'], domains => ARRAY['ff_common'])$$);
COMMIT;
-- A consumer group of 4 can index its members' shares; the planner uses the index when reading
-- a member's share through it is cheaper than walking the feed order (make bench's W9c measures
-- both on a 10-million-event store). Reads are correct either way (below).
SELECT * FROM angzarr.feed_group_index_sql(4);
SELECT * FROM angzarr.feed_group_index_sql(4) \gexec
SELECT count(*) AS member_0_rows FROM angzarr.read_feed(max_count => NULL, member => 0, members => 4)
 WHERE domain LIKE 'ff\_%';
DROP INDEX angzarr.events_feed_group_4_idx;
-- Same rows, same order as filtering the whole feed, for every filter, read page by page.
CREATE FUNCTION pages(domains text[], event_types text[], member int, members int)
RETURNS TABLE (n bigint, feed_tx bigint, global_position bigint) LANGUAGE plpgsql AS $$
DECLARE
    at_tx bigint := 0;
    at_pos bigint := 0;
    got bigint;
    k bigint := 0;
    r record;
BEGIN
    LOOP
        got := 0;
        FOR r IN SELECT * FROM angzarr.read_feed(at_tx, at_pos, 37, domains, NULL, event_types, member, members) LOOP
            k := k + 1; got := got + 1;
            n := k; feed_tx := r.feed_tx; global_position := r.global_position;
            RETURN NEXT;
            at_tx := r.feed_tx; at_pos := r.global_position;
        END LOOP;
        EXIT WHEN got = 0;
    END LOOP;
END
$$;
CREATE FUNCTION same_as_filtered_feed(domains text[], event_types text[], member int, members int)
RETURNS TABLE (rows bigint, identical boolean) LANGUAGE sql AS $$
    WITH expected AS (
        SELECT row_number() OVER (ORDER BY f.feed_tx, f.global_position) AS n, f.feed_tx, f.global_position
          FROM angzarr.read_feed(max_count => NULL) f
         WHERE f.domain LIKE 'ff\_%'
           AND ($1 IS NULL OR f.domain = ANY ($1))
           AND ($2 IS NULL OR f.event_type = ANY ($2))
           AND angzarr.feed_member(f.domain, f.root, $4, f.edition) = $3),
    got AS (SELECT * FROM pages($1, $2, $3, $4) p
             WHERE (SELECT e.domain FROM angzarr.events e
                     WHERE (e.feed_tx, e.global_position) = (p.feed_tx, p.global_position)) LIKE 'ff\_%')
    SELECT (SELECT count(*) FROM expected),
           NOT EXISTS (SELECT 1 FROM expected x FULL JOIN got g USING (n)
                        WHERE (x.feed_tx, x.global_position) IS DISTINCT FROM (g.feed_tx, g.global_position))
$$;
SELECT * FROM same_as_filtered_feed(ARRAY['ff_rare'], NULL, 0, 1);
SELECT * FROM same_as_filtered_feed(ARRAY['ff_rare', 'ff_common'], NULL, 0, 1);
SELECT * FROM same_as_filtered_feed(NULL, ARRAY['Rare'], 0, 1);
SELECT * FROM same_as_filtered_feed(ARRAY['ff_common'], ARRAY['Rare', 'Common'], 0, 1);
SELECT * FROM same_as_filtered_feed(NULL, NULL, 2, 4);
SELECT * FROM same_as_filtered_feed(ARRAY['ff_rare'], NULL, 1, 3);
-- Bad group sizes for the index.
SELECT angzarr.feed_group_index_sql(1);
SELECT angzarr.feed_group_index_sql(NULL);
