-- Raises the feed clock past rows brought in from another cluster (a restore, logical
-- replication): src/feed_clock.rs calls it before a transaction that wrote such rows commits,
-- with the largest feed_tx and global_position among them. Returns the offset now in force.
--
-- Why a raise cannot let a reader skip a row. A reader passes only rows with feed_tx below
-- H = xmin + O_r (xmin of its snapshot, O_r the offset that snapshot sees). A row it cannot see
-- yet belongs to a writer running at its snapshot, whose id is >= xmin, so the row is safe when
-- that writer stamped with an offset >= O_r. Writers read O (latest committed value) only while
-- they hold ROW EXCLUSIVE on angzarr.events, which they keep until they end. The raise first
-- takes SHARE on angzarr.events: it waits until every writer that may have read the old offset
-- has ended, and keeps new writers out until it commits; they then read the new offset (through
-- the latest snapshot, even under REPEATABLE READ). So a reader whose snapshot sees the new
-- offset took it after the raise committed, after every old-offset writer had ended: their rows
-- are visible to it, none is ahead of it. A reader whose snapshot does not see the raise uses the
-- old offset, below what every writer stamps. O only grows, so this holds for any number of raises.
-- The new offset is measured from the oldest transaction still running once the lock is held:
-- every later writer has an id at least that, so it stamps above moved_feed_tx, and above every
-- restored checkpoint. Two concurrent raises that both wrote events can deadlock (each holds
-- ROW EXCLUSIVE); one is cancelled with 40P01 and can be retried.
CREATE FUNCTION angzarr._advance_feed_clock(moved_feed_tx bigint, moved_position bigint)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_need bigint;
    v_offset bigint;
BEGIN
    -- Real clocks are nowhere near this (2^62 is 2^30 epochs of 2^32 ids); a value beyond it is
    -- damage, and following it would leave new writers little room before bigint overflows.
    IF moved_feed_tx > (1::bigint << 62) THEN
        RAISE EXCEPTION 'feed_tx % is beyond the feed clock''s range', moved_feed_tx
            USING ERRCODE = '22003',
                  DETAIL = pg_catalog.format('The feed clock is not raised past %s (2^62).', 1::bigint << 62),
                  HINT = 'Find the event or feed checkpoint with this feed_tx; it did not come from a real clock.';
    END IF;
    v_need := moved_feed_tx - pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint + 1;
    SELECT c.xid_offset INTO v_offset FROM angzarr.feed_clock c;
    -- Usually nothing to do (a restore of rows from a cluster behind this one, or a raise that
    -- an earlier transaction already made): no lock. O only grows, so a stale read errs safe.
    IF v_offset >= v_need AND NOT EXISTS (
        SELECT FROM angzarr.events_global_position_seq s
         WHERE CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END < moved_position) THEN
        RETURN v_offset;
    END IF;
    LOCK TABLE angzarr.events IN SHARE MODE;
    -- A new statement takes a new snapshot (READ COMMITTED): the oldest id running now.
    v_need := moved_feed_tx - pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint + 1;
    -- The clock's guard drops rows applied by logical replication, except this raise.
    PERFORM pg_catalog.set_config('angzarr._raising_feed_clock', 'on', true);
    INSERT INTO angzarr.feed_clock AS c (xid_offset) VALUES (greatest(v_need, 0))
        ON CONFLICT (singleton) DO UPDATE SET xid_offset = excluded.xid_offset
         WHERE c.xid_offset < excluded.xid_offset;
    PERFORM pg_catalog.set_config('angzarr._raising_feed_clock', 'off', true);
    -- Logical replication does not carry the position counter, and a restore may set it after
    -- the events: never hand out a position that a moved row holds.
    PERFORM pg_catalog.setval('angzarr.events_global_position_seq', moved_position)
       FROM angzarr.events_global_position_seq s
      WHERE CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END < moved_position;
    SELECT c.xid_offset INTO v_offset FROM angzarr.feed_clock c;
    RETURN v_offset;
END
$$;
COMMENT ON FUNCTION angzarr._advance_feed_clock(bigint, bigint) IS
    'Internal: raises the feed clock and the position counter past rows moved in from another cluster.';

-- For operators: raises the feed clock past every stored event and feed checkpoint, and past
-- at_least (a checkpoint a consumer keeps outside this database), and the position counter past
-- every stored position. Restores and logical replication do this by themselves; this is for
-- checkpoints kept elsewhere, or rows loaded with triggers disabled. Harmless to repeat. It
-- trusts every stored checkpoint, also ones saved with save_feed_position() (which never move
-- the clock by themselves); feed_tx beyond 2^62 is refused (22003).
CREATE FUNCTION angzarr.advance_feed_clock(at_least bigint DEFAULT 0)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF at_least IS NULL OR at_least < 0 THEN
        RAISE EXCEPTION 'at_least % is invalid', coalesce(at_least::text, 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'Pass the largest feed_tx a consumer outside the database has checkpointed, or 0.';
    END IF;
    RETURN angzarr._advance_feed_clock(
        greatest(at_least, (SELECT max(e.feed_tx) FROM angzarr.events e),
                 (SELECT max(p.feed_tx) FROM angzarr.feed_positions p)),
        coalesce((SELECT max(e.global_position) FROM angzarr.events e), 0));
END
$$;
COMMENT ON FUNCTION angzarr.advance_feed_clock(bigint) IS
    'Raises the feed clock past every stored event and checkpoint and past at_least; returns the offset. Restores and logical replication need no call.';
