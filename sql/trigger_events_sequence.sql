-- The heart of the store: assigns gap-free sequences and checks expected sequences
-- (see src/trigger.rs). Fires for INSERT and COPY alike, so no write path can bypass it.
CREATE TRIGGER events_assign_sequence
    BEFORE INSERT ON angzarr.events
    FOR EACH ROW EXECUTE FUNCTION angzarr._events_before_insert();
COMMENT ON FUNCTION angzarr._events_before_insert() IS
    'Trigger: assigns sequence, global_position and feed_tx; raises ZA001 on a stale expected sequence.';
-- The trigger's catalog look-ups and SPI queries must not depend on the caller's search_path.
ALTER FUNCTION angzarr._events_before_insert() SET search_path = pg_catalog, pg_temp;
