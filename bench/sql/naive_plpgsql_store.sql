-- The careful-but-naive design our Rust trigger replaces: the same table, with a PL/pgSQL
-- BEFORE INSERT trigger that takes an advisory lock and runs max()+1 for every row. It is
-- correct (gap-free under concurrency, explicit sequences checked) and shows what the Rust
-- trigger's per-transaction head cache and direct index probe buy.
CREATE SCHEMA naive;
CREATE TABLE naive.events (LIKE angzarr.events INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING STORAGE);
-- angzarr's trigger draws the id of a row without one (the column has no default since 0.2.0);
-- the twin gets the same random id from a default.
ALTER TABLE naive.events ALTER COLUMN id SET DEFAULT gen_random_uuid();
CREATE SEQUENCE naive.events_global_position_seq AS bigint;

-- Per row: lock the aggregate, read its last sequence, check an explicit sequence, stamp.
CREATE FUNCTION naive._before_insert()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_next bigint;
BEGIN
    NEW.edition := coalesce(nullif(NEW.edition, ''), 'angzarr');
    PERFORM pg_advisory_xact_lock(
        hashtextextended(NEW.domain || '/' || NEW.edition || '/' || NEW.root::text, 0));
    SELECT coalesce(max(e.sequence) + 1, 0) INTO v_next
      FROM naive.events e
     WHERE e.domain = NEW.domain AND e.edition = NEW.edition AND e.root = NEW.root;
    IF NEW.sequence IS NOT NULL AND NEW.sequence <> v_next THEN
        RAISE EXCEPTION 'expected sequence % but % is next', NEW.sequence, v_next
            USING ERRCODE = 'ZA001';
    END IF;
    NEW.sequence := v_next;
    NEW.global_position := nextval('naive.events_global_position_seq');
    NEW.feed_tx := txid_current();
    RETURN NEW;
END
$$;

CREATE TRIGGER events_assign_sequence
    BEFORE INSERT ON naive.events
    FOR EACH ROW EXECUTE FUNCTION naive._before_insert();
