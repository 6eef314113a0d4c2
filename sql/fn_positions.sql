-- Name checks shared by the storage-contract functions, with the trigger's rules and codes.
COMMENT ON FUNCTION angzarr._check_domain(text) IS
    'Internal: checks a domain name like the events trigger does (23502, 22023, 22001).';
COMMENT ON FUNCTION angzarr._check_edition(text) IS
    'Internal: checks and normalises an edition name (NULL and empty mean main).';

-- Records that `handler` has processed `root` up to `sequence`. Monotonic: a lower or equal
-- sequence changes nothing, so redelivered or reordered acknowledgements can never move a
-- handler back. Concurrent saves of one key serialise on the row; the highest wins.
CREATE FUNCTION angzarr.save_position(
    domain text,
    root uuid,
    handler text,
    sequence bigint,
    edition text DEFAULT 'angzarr')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_domain text := angzarr._check_domain(save_position.domain);
    v_edition text := angzarr._check_edition(save_position.edition);
    v_stored bigint;
BEGIN
    IF coalesce(save_position.handler, '') = '' THEN
        RAISE EXCEPTION 'handler must not be %', CASE WHEN save_position.handler IS NULL THEN 'NULL' ELSE 'empty' END
            USING ERRCODE = CASE WHEN save_position.handler IS NULL THEN '23502' ELSE '22023' END,
                  HINT = 'Pass the name of the projector or saga, e.g. ''player-projector''.';
    END IF;
    IF save_position.root IS NULL THEN
        RAISE EXCEPTION 'root must not be NULL'
            USING ERRCODE = '23502', HINT = 'Pass the aggregate''s UUID.';
    END IF;
    IF save_position.sequence IS NULL THEN
        RAISE EXCEPTION 'sequence must not be NULL'
            USING ERRCODE = '23502', HINT = 'Pass the last sequence the handler has processed (0 or more).';
    END IF;
    IF save_position.sequence < 0 THEN
        RAISE EXCEPTION 'sequence % is negative', save_position.sequence
            USING ERRCODE = '22003', HINT = 'Positions are event sequences: 0 or more.';
    END IF;
    INSERT INTO angzarr.positions AS p (handler, domain, edition, root, sequence)
    VALUES (save_position.handler, v_domain, v_edition, save_position.root, save_position.sequence)
    ON CONFLICT ON CONSTRAINT positions_key DO UPDATE
       SET sequence = EXCLUDED.sequence, updated_at = now()
     WHERE p.sequence < EXCLUDED.sequence
    RETURNING p.sequence INTO v_stored;
    IF v_stored IS NULL THEN
        -- Not moved: the row already holds this or a higher position (a new statement sees it
        -- even when a concurrent save committed it while we waited).
        SELECT p.sequence INTO v_stored FROM angzarr.positions p
         WHERE p.handler = save_position.handler AND p.domain = v_domain
           AND p.edition = v_edition AND p.root = save_position.root;
    END IF;
    RETURN v_stored;
END
$$;
COMMENT ON FUNCTION angzarr.save_position(text, uuid, text, bigint, text) IS
    'Saves a handler''s position in an aggregate; never moves it back (a lower or equal sequence is a no-op). Returns the stored position.';

-- The last sequence `handler` processed in `root`, or NULL when it has none (0 is a position).
CREATE FUNCTION angzarr.get_position(
    domain text,
    root uuid,
    handler text,
    edition text DEFAULT 'angzarr')
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT p.sequence FROM angzarr.positions p
     WHERE p.handler = $3 AND p.domain = $1 AND p.edition = angzarr._edition($4) AND p.root = $2;
END;
COMMENT ON FUNCTION angzarr.get_position(text, uuid, text, text) IS
    'A handler''s last processed sequence in an aggregate; NULL when it has none.';

-- Forgets a handler's positions (all, or one domain's) so it can rebuild from the start: the
-- one deliberate way back, as save_position() never moves a position backwards.
CREATE FUNCTION angzarr.reset_positions(handler text, domain text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH gone AS (
        DELETE FROM angzarr.positions p
         WHERE p.handler = $1 AND ($2 IS NULL OR p.domain = $2)
        RETURNING 1)
    SELECT count(*) FROM gone;
END;
COMMENT ON FUNCTION angzarr.reset_positions(text, text) IS
    'Deletes a handler''s positions (optionally only one domain''s) so it replays from the start; returns how many.';
