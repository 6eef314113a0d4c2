-- Everything needed to rebuild an aggregate, from one consistent read: its newest usable
-- snapshot (kind 'snapshot', the state after events 0..sequence), then the events after it
-- (kind 'event'), in sequence order. Without a snapshot (or with use_snapshot => false) the
-- events start at 0. On a named edition a main snapshot below the divergence point is usable
-- too, since that history is shared.
CREATE FUNCTION angzarr.load_aggregate(
    domain text,
    root uuid,
    edition text DEFAULT 'angzarr',
    use_snapshot boolean DEFAULT true)
RETURNS TABLE (
    kind text,
    sequence bigint,
    type text,
    data bytea,
    correlation_id text,
    created_at timestamptz,
    retention angzarr.snapshot_retention)
LANGUAGE sql STABLE
BEGIN ATOMIC
    WITH snap AS (
        SELECT s.sequence, s.state, s.state_type, s.retention, s.created_at
          FROM angzarr.snapshots s
         WHERE coalesce($4, true) AND s.domain = $1 AND s.root = $2
           AND (s.edition = angzarr._edition($3)
                OR (angzarr._edition($3) <> 'angzarr' AND s.edition = 'angzarr'
                    AND s.sequence < coalesce(angzarr._divergence_sequence($1, angzarr._edition($3), $2),
                                              9223372036854775807)))
         ORDER BY s.sequence DESC, s.edition = angzarr._edition($3) DESC
         LIMIT 1)
    SELECT 'snapshot'::text, s.sequence, s.state_type, s.state, NULL::text, s.created_at, s.retention
      FROM snap s
    UNION ALL
    -- The start comes in through LATERAL rather than a sub-select argument, which would keep
    -- the planner from inlining read_stream().
    SELECT 'event'::text, e.sequence, e.event_type, e.payload, e.correlation_id, e.created_at, NULL
      FROM (SELECT coalesce(max(s.sequence) + 1, 0) AS after_snapshot FROM snap s) f
           CROSS JOIN LATERAL angzarr.read_stream($1, $2, $3, f.after_snapshot) e
    ORDER BY 2;
END;
COMMENT ON FUNCTION angzarr.load_aggregate(text, uuid, text, boolean) IS
    'Loads an aggregate in one read: its newest snapshot (kind snapshot) then the events after it (kind event).';
