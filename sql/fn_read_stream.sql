-- One aggregate's events in sequence order within [from_sequence, to_sequence), at most
-- max_count of them. On a named edition: main's events below the divergence point, then the
-- edition's own. A plain SQL function, so the planner inlines it into the caller's query.
CREATE FUNCTION angzarr.read_stream(
    domain text,
    root uuid,
    edition text DEFAULT 'angzarr',
    from_sequence bigint DEFAULT 0,
    to_sequence bigint DEFAULT NULL,
    max_count bigint DEFAULT NULL)
RETURNS TABLE (
    sequence bigint,
    event_type text,
    payload bytea,
    correlation_id text,
    created_at timestamptz,
    id uuid,
    edition text,
    global_position bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
    -- Two branches, each ordered and limited on its own, exactly one of which has rows: a
    -- single-table branch for the main edition keeps its ordered index scan (a UNION ALL under
    -- one ORDER BY makes the planner sort the whole rest of the aggregate).
    SELECT r.* FROM (
        SELECT e.sequence, e.event_type, e.payload, e.correlation_id, e.created_at, e.id,
               e.edition, e.global_position
          FROM angzarr.events e
         WHERE angzarr._edition($3) = 'angzarr'
           AND e.domain = $1 AND e.edition = 'angzarr' AND e.root = $2
           AND e.sequence >= $4 AND e.sequence < coalesce($5, 9223372036854775807)
         ORDER BY e.sequence
         -- The range check sits in LIMIT: it runs once, before any row is read.
         LIMIT CASE WHEN angzarr._check_range($4, $5, $6) THEN $6 END) r
    UNION ALL
    SELECT c.* FROM (
        SELECT s.sequence, s.event_type, s.payload, s.correlation_id, s.created_at, s.id,
               s.edition, s.global_position
          FROM (SELECT e.sequence, e.event_type, e.payload, e.correlation_id, e.created_at, e.id,
                       e.edition, e.global_position
                  FROM angzarr.events e
                 WHERE e.domain = $1 AND e.edition = angzarr._edition($3) AND e.root = $2
                UNION ALL
                SELECT m.sequence, m.event_type, m.payload, m.correlation_id, m.created_at, m.id,
                       m.edition, m.global_position
                  FROM angzarr.events m
                 WHERE m.domain = $1 AND m.edition = 'angzarr' AND m.root = $2
                   AND m.sequence < coalesce(
                       angzarr._divergence_sequence($1, angzarr._edition($3), $2),
                       9223372036854775807)) s
         WHERE angzarr._edition($3) <> 'angzarr'
           AND s.sequence >= $4 AND s.sequence < coalesce($5, 9223372036854775807)
         ORDER BY s.sequence
         LIMIT CASE WHEN angzarr._check_range($4, $5, $6) THEN $6 END) c;
END;
COMMENT ON FUNCTION angzarr.read_stream(text, uuid, text, bigint, bigint, bigint) IS
    'Reads one aggregate''s events in [from_sequence, to_sequence), oldest first, at most max_count.';
