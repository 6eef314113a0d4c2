-- Logical replication's apply worker runs with session_replication_role = replica, where only
-- ALWAYS triggers fire. Replicated events must take the trigger's restore path (kept verbatim,
-- feed clock raised past them), so the sequence trigger fires always. The events' other triggers
-- keep their default.
ALTER TABLE angzarr.events ENABLE ALWAYS TRIGGER events_assign_sequence;

-- Feed checkpoints written directly (restored, replicated, or by an operator) may come from
-- another cluster's clock; this notes them so the clock is raised past them before commit.
-- Checkpoints saved through angzarr.save_feed_position() are left alone (src/feed_clock.rs).
CREATE TRIGGER feed_positions_note_moved
    BEFORE INSERT OR UPDATE ON angzarr.feed_positions
    FOR EACH ROW EXECUTE FUNCTION angzarr._feed_positions_note_moved();
ALTER TABLE angzarr.feed_positions ENABLE ALWAYS TRIGGER feed_positions_note_moved;
COMMENT ON FUNCTION angzarr._feed_positions_note_moved() IS
    'Trigger: notes a feed checkpoint written directly (restored or replicated) so the feed clock is raised past it.';

-- The clock is this cluster's own. A publication FOR ALL TABLES also carries the source's clock
-- row, relative to the source's transaction ids: rows applied by logical replication (replica
-- mode) are dropped here, except the raise this database makes itself. And it never goes back:
-- a lower offset would let new writers sort below events readers have passed.
CREATE FUNCTION angzarr._feed_clock_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.current_setting('session_replication_role') = 'replica'
       AND pg_catalog.current_setting('angzarr._raising_feed_clock', true) IS DISTINCT FROM 'on' THEN
        RETURN NULL;
    END IF;
    -- (An insert beside the one row fails its primary key.)
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.xid_offset < OLD.xid_offset) THEN
        RAISE EXCEPTION 'the feed clock only moves forward'
            USING ERRCODE = '55000',
                  DETAIL = pg_catalog.format('%s of angzarr.feed_clock refused.', TG_OP),
                  HINT = 'Raise it with angzarr.advance_feed_clock(); it is never lowered or removed.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION angzarr._feed_clock_guard() IS
    'Trigger: keeps angzarr.feed_clock local to this cluster and only moving forward.';
CREATE TRIGGER feed_clock_guard
    BEFORE INSERT OR UPDATE OR DELETE ON angzarr.feed_clock
    FOR EACH ROW EXECUTE FUNCTION angzarr._feed_clock_guard();
ALTER TABLE angzarr.feed_clock ENABLE ALWAYS TRIGGER feed_clock_guard;

-- Backends keep the offset between transactions (src/feed_clock.rs); any change to the clock
-- invalidates the table's relcache entry when it commits, which drops those copies.
CREATE TRIGGER feed_clock_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON angzarr.feed_clock
    FOR EACH STATEMENT EXECUTE FUNCTION angzarr._feed_clock_changed();
ALTER TABLE angzarr.feed_clock ENABLE ALWAYS TRIGGER feed_clock_changed;
COMMENT ON FUNCTION angzarr._feed_clock_changed() IS
    'Trigger: makes every backend drop its cached feed clock offset when the clock changes.';
