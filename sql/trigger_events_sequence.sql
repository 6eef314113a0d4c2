-- The heart of the store: assigns gap-free sequences and checks expected sequences
-- (see src/trigger.rs). Fires for INSERT and COPY alike, so no write path can bypass it.
CREATE TRIGGER events_assign_sequence
    BEFORE INSERT ON angzarr.events
    FOR EACH ROW EXECUTE FUNCTION angzarr._events_before_insert();
COMMENT ON FUNCTION angzarr._events_before_insert() IS
    'Trigger: assigns sequence, global_position and feed_tx; raises ZA001 on a stale expected sequence.';
-- No SET search_path here: a SET clause costs a GUC save/restore on every row. The trigger
-- looks objects up by OID and namespace, and its one query calls a schema-qualified function
-- with a SQL-standard body, so the caller's search_path cannot change what it runs.
