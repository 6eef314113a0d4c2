-- How far the feed is held back and by whom: readers only see events below the oldest running
-- transaction id of the whole cluster (on the feed clock, see angzarr.feed_clock), so one long
-- transaction (in any database, prepared ones included) delays everything committed after it
-- started writing.
CREATE FUNCTION angzarr.feed_lag(
    OUT horizon_feed_tx bigint,
    OUT held_back_events bigint,
    OUT oldest_xact_pid integer,
    OUT oldest_xact_database name,
    OUT oldest_xact_state text,
    OUT oldest_xact_age interval,
    OUT oldest_xact_prepared_gid text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    -- pg_stat_activity is cached for the rest of a transaction; look at the current state.
    SELECT pg_stat_clear_snapshot();
    WITH h AS (SELECT x.xmin, x.xmin::text::bigint + c.xid_offset AS horizon
                 FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) x, angzarr.feed_clock c),
    holder AS (
        SELECT a.pid, a.datname, a.state, clock_timestamp() - a.xact_start AS age, NULL::text AS gid
          FROM pg_stat_activity a, h
         WHERE a.backend_xid = h.xmin::xid
        UNION ALL
        SELECT NULL, p.database, 'prepared', clock_timestamp() - p.prepared, p.gid
          FROM pg_prepared_xacts p, h
         WHERE p.transaction = h.xmin::xid)
    SELECT h.horizon,
           (SELECT count(*) FROM angzarr.events e WHERE e.feed_tx >= h.horizon),
           o.pid, o.datname, o.state, o.age, o.gid
      FROM h LEFT JOIN LATERAL (SELECT * FROM holder LIMIT 1) o ON true
$$;
COMMENT ON FUNCTION angzarr.feed_lag() IS
    'Feed lag: the horizon, committed events readers cannot see yet, and the transaction holding them back (pid, database, state, age, prepared gid).';
