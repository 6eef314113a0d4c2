-- angzarr's retention rule: is a snapshot at `old_sequence` made redundant by a newer one at
-- `new_sequence`? transient: always; default: when both fall in the same 16-sequence window;
-- persist: never.
CREATE FUNCTION angzarr._snapshot_superseded(
    old_sequence bigint, old_retention angzarr.snapshot_retention, new_sequence bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT $1 < $3 AND CASE $2
        WHEN 'transient' THEN true
        WHEN 'default' THEN $1 / 16 = $3 / 16
        ELSE false END;
END;
COMMENT ON FUNCTION angzarr._snapshot_superseded(bigint, angzarr.snapshot_retention, bigint) IS
    'Internal: whether a newer snapshot makes an older one redundant under its retention.';

-- Stores the aggregate's state after event `sequence` and, in the same transaction, removes the
-- older snapshots that this one supersedes (an older snapshot put after a newer one is kept
-- only if its retention would keep it). Refuses a snapshot beyond the aggregate's last
-- event (ZA004). Takes the aggregate's append lock, so it waits for an append in flight (and
-- then sees its events) and concurrent puts of one aggregate run one after the other.
CREATE FUNCTION angzarr.put_snapshot(
    domain text,
    root uuid,
    sequence bigint,
    state bytea,
    edition text DEFAULT 'angzarr',
    retention angzarr.snapshot_retention DEFAULT 'default',
    state_type text DEFAULT NULL,
    OUT stored boolean,
    OUT removed bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_domain text := angzarr._check_domain(put_snapshot.domain);
    v_edition text := angzarr._check_edition(put_snapshot.edition);
    v_next bigint;
BEGIN
    IF put_snapshot.root IS NULL THEN
        RAISE EXCEPTION 'root must not be NULL' USING ERRCODE = '23502', HINT = 'Pass the aggregate''s UUID.';
    END IF;
    IF put_snapshot.sequence IS NULL OR put_snapshot.state IS NULL OR put_snapshot.retention IS NULL THEN
        RAISE EXCEPTION '% must not be NULL',
            CASE WHEN put_snapshot.sequence IS NULL THEN 'sequence'
                 WHEN put_snapshot.state IS NULL THEN 'state' ELSE 'retention' END
            USING ERRCODE = '23502',
                  HINT = 'A snapshot is the state (bytes) after applying events 0..sequence.';
    END IF;
    IF put_snapshot.sequence < 0 THEN
        RAISE EXCEPTION 'snapshot sequence % is negative', put_snapshot.sequence
            USING ERRCODE = '22003', HINT = 'A snapshot at sequence s holds the state after events 0..s.';
    END IF;
    PERFORM angzarr._lock_aggregate(v_domain, v_edition, put_snapshot.root);
    v_next := angzarr.next_sequence(v_domain, put_snapshot.root, v_edition);
    IF put_snapshot.sequence >= v_next THEN
        RAISE EXCEPTION 'snapshot at sequence % is beyond the head of aggregate %/% in edition "%"',
            put_snapshot.sequence, v_domain, put_snapshot.root, v_edition
            USING ERRCODE = 'ZA004',
                  DETAIL = CASE WHEN v_next = 0 THEN 'The aggregate has no events.'
                           ELSE format('Its last event has sequence %s.', v_next - 1) END,
                  HINT = 'A snapshot at sequence s holds the state after events 0..s: append those events first, or snapshot an earlier sequence.';
    END IF;
    -- Keep the invariant "no stored snapshot is superseded by a newer stored one": a snapshot
    -- put after a newer one is stored only if its retention keeps it next to that one.
    IF EXISTS (SELECT 1 FROM angzarr.snapshots s
                WHERE s.domain = v_domain AND s.edition = v_edition AND s.root = put_snapshot.root
                  AND angzarr._snapshot_superseded(put_snapshot.sequence, put_snapshot.retention,
                                                   s.sequence)) THEN
        stored := false;
        removed := 0;
        RETURN;
    END IF;
    DELETE FROM angzarr.snapshots s
     WHERE s.domain = v_domain AND s.edition = v_edition AND s.root = put_snapshot.root
       AND angzarr._snapshot_superseded(s.sequence, s.retention, put_snapshot.sequence);
    GET DIAGNOSTICS removed = ROW_COUNT;
    INSERT INTO angzarr.snapshots AS s (domain, edition, root, sequence, state, state_type, retention)
    VALUES (v_domain, v_edition, put_snapshot.root, put_snapshot.sequence, put_snapshot.state,
            nullif(put_snapshot.state_type, ''), put_snapshot.retention)
    ON CONFLICT ON CONSTRAINT snapshots_key DO UPDATE
       SET state = EXCLUDED.state, state_type = EXCLUDED.state_type,
           retention = EXCLUDED.retention, created_at = now();
    stored := true;
END
$$;
COMMENT ON FUNCTION angzarr.put_snapshot(text, uuid, bigint, bytea, text, angzarr.snapshot_retention, text) IS
    'Stores the state after event `sequence` and removes the snapshots it supersedes; returns whether it was stored and how many it removed. Raises ZA004 beyond the last event.';

-- The aggregate's newest snapshot, or its newest at or below `max_sequence`. Snapshots belong
-- to one edition: a named edition does not see main's here (angzarr.load_aggregate() does).
CREATE FUNCTION angzarr.get_snapshot(
    domain text,
    root uuid,
    edition text DEFAULT 'angzarr',
    max_sequence bigint DEFAULT NULL)
RETURNS TABLE (
    sequence bigint,
    state bytea,
    state_type text,
    retention angzarr.snapshot_retention,
    created_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT s.sequence, s.state, s.state_type, s.retention, s.created_at
      FROM angzarr.snapshots s
     WHERE s.domain = $1 AND s.edition = angzarr._edition($3) AND s.root = $2
       AND ($4 IS NULL OR s.sequence <= $4)
     ORDER BY s.sequence DESC
     LIMIT 1;
END;
COMMENT ON FUNCTION angzarr.get_snapshot(text, uuid, text, bigint) IS
    'The newest snapshot of an aggregate, or the newest at or below max_sequence; no row when there is none.';

-- Deletes every snapshot of the aggregate, e.g. after the state's shape changed. Idempotent.
CREATE FUNCTION angzarr.delete_snapshots(domain text, root uuid, edition text DEFAULT 'angzarr')
RETURNS bigint
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH gone AS (
        DELETE FROM angzarr.snapshots s
         WHERE s.domain = $1 AND s.edition = angzarr._edition($3) AND s.root = $2
        RETURNING 1)
    SELECT count(*) FROM gone;
END;
COMMENT ON FUNCTION angzarr.delete_snapshots(text, uuid, text) IS
    'Deletes all snapshots of an aggregate in an edition; returns how many (0 when there were none).';
