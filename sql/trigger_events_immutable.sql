-- History is immutable: refuses UPDATE and TRUNCATE outright.
CREATE FUNCTION angzarr._events_refuse_change()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'angzarr.events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'ZA002',
              HINT = 'Append a compensating event instead; discard a whole non-main edition with angzarr.discard_edition().';
END
$$;
COMMENT ON FUNCTION angzarr._events_refuse_change() IS
    'Trigger: raises ZA002 for UPDATE and TRUNCATE on angzarr.events.';

-- Refuses DELETE except of rows of the edition angzarr.discard_edition() is discarding.
CREATE FUNCTION angzarr._events_guard_delete()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.edition <> 'angzarr'
       AND OLD.edition = current_setting('angzarr._discarding_edition', true) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'angzarr.events is append-only: DELETE is not allowed'
        USING ERRCODE = 'ZA002',
              DETAIL = format('Refused deleting %s/%s sequence %s in edition "%s".',
                              OLD.domain, OLD.root, OLD.sequence, OLD.edition),
              HINT = 'Only angzarr.discard_edition() deletes events, and never from the main edition.';
END
$$;
COMMENT ON FUNCTION angzarr._events_guard_delete() IS
    'Trigger: raises ZA002 for DELETE unless angzarr.discard_edition() is discarding that row''s edition.';

CREATE TRIGGER events_refuse_update
    BEFORE UPDATE ON angzarr.events
    FOR EACH STATEMENT EXECUTE FUNCTION angzarr._events_refuse_change();
CREATE TRIGGER events_refuse_truncate
    BEFORE TRUNCATE ON angzarr.events
    FOR EACH STATEMENT EXECUTE FUNCTION angzarr._events_refuse_change();
CREATE TRIGGER events_guard_delete
    BEFORE DELETE ON angzarr.events
    FOR EACH ROW EXECUTE FUNCTION angzarr._events_guard_delete();
