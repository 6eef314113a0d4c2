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
