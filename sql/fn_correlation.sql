-- Every event of one business process: all events sharing a correlation id, across domains,
-- editions and aggregates, grouped per aggregate and in sequence order within it. Served by
-- events_correlation_idx (a plain SQL function, inlined, so the planner sees the predicate).
-- NULL and '' are "no correlation" and match nothing. The argument is not named correlation_id:
-- that is the name of the column every event-returning function has.
CREATE FUNCTION angzarr.read_correlation(correlation text)
RETURNS TABLE (
    domain text,
    edition text,
    root uuid,
    sequence bigint,
    event_type text,
    payload bytea,
    correlation_id text,
    created_at timestamptz,
    id uuid,
    global_position bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT e.domain, e.edition, e.root, e.sequence, e.event_type, e.payload, e.correlation_id,
           e.created_at, e.id, e.global_position
      FROM angzarr.events e
     WHERE e.correlation_id = nullif($1, '')
     ORDER BY e.domain, e.edition, e.root, e.sequence;
END;
COMMENT ON FUNCTION angzarr.read_correlation(text) IS
    'All events with a correlation id, across domains and aggregates, grouped per aggregate in sequence order.';
