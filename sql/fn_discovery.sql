-- Every (domain, edition) pair that has events, found with a "loose index scan": one probe of
-- the primary key per pair instead of reading every event.
CREATE FUNCTION angzarr._stored_domain_editions()
RETURNS TABLE (domain text, edition text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE pairs AS (
        (SELECT e.domain, e.edition FROM angzarr.events e ORDER BY e.domain, e.edition LIMIT 1)
        UNION ALL
        SELECT n.domain, n.edition
          FROM pairs p
          CROSS JOIN LATERAL (
              SELECT e.domain, e.edition FROM angzarr.events e
               WHERE (e.domain, e.edition) > (p.domain, p.edition)
               ORDER BY e.domain, e.edition LIMIT 1) n)
    SELECT pairs.domain, pairs.edition FROM pairs;
END;
COMMENT ON FUNCTION angzarr._stored_domain_editions() IS
    'Internal: the (domain, edition) pairs that have events, via a loose index scan of the primary key.';

-- Every domain that has events in any edition, in name order (loose index scan of the key).
CREATE FUNCTION angzarr.list_domains()
RETURNS TABLE (domain text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE d AS (
        (SELECT e.domain FROM angzarr.events e ORDER BY e.domain LIMIT 1)
        UNION ALL
        SELECT (SELECT e.domain FROM angzarr.events e WHERE e.domain > d.domain
                 ORDER BY e.domain LIMIT 1)
          FROM d WHERE d.domain IS NOT NULL)
    SELECT d.domain FROM d WHERE d.domain IS NOT NULL;
END;
COMMENT ON FUNCTION angzarr.list_domains() IS
    'Lists the domains that have events, in name order; one index probe per domain.';

-- The roots with stored events in exactly (domain, edition), one index probe per root.
CREATE FUNCTION angzarr._stored_roots(domain text, edition text)
RETURNS TABLE (root uuid)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE r AS (
        (SELECT e.root FROM angzarr.events e WHERE e.domain = $1 AND e.edition = $2
          ORDER BY e.root LIMIT 1)
        UNION ALL
        SELECT (SELECT e.root FROM angzarr.events e
                 WHERE e.domain = $1 AND e.edition = $2 AND e.root > r.root
                 ORDER BY e.root LIMIT 1)
          FROM r WHERE r.root IS NOT NULL)
    SELECT r.root FROM r WHERE r.root IS NOT NULL;
END;
COMMENT ON FUNCTION angzarr._stored_roots(text, text) IS
    'Internal: roots with events stored under exactly (domain, edition), via a loose index scan.';

-- The aggregates of a domain that have their own events in the edition, as angzarr's backends
-- list them: a discarded or misspelt edition has none. inherited => true adds, on a named
-- edition, main's roots whose history the edition shares (divergence above 0): every
-- aggregate a read_stream() on the edition would find events for.
CREATE FUNCTION angzarr.list_roots(
    domain text,
    edition text DEFAULT 'angzarr',
    inherited boolean DEFAULT false)
RETURNS TABLE (root uuid)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT s.root FROM angzarr._stored_roots($1, angzarr._edition($2)) s
    UNION
    SELECT m.root FROM angzarr._stored_roots($1, 'angzarr') m
     WHERE coalesce($3, false) AND angzarr._edition($2) <> 'angzarr'
       AND coalesce(angzarr._divergence_sequence($1, angzarr._edition($2), m.root), 1) > 0
    ORDER BY 1;
END;
COMMENT ON FUNCTION angzarr.list_roots(text, text, boolean) IS
    'Lists the roots of a domain with events of their own in an edition (inherited => true adds the main roots a named edition shares), in UUID order.';

-- The sequence the next event of the aggregate gets: 0 for a new aggregate; on a named edition
-- it continues the composite history (main below the divergence point, then the edition's own),
-- exactly as the trigger assigns it.
CREATE FUNCTION angzarr.next_sequence(domain text, root uuid, edition text DEFAULT 'angzarr')
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(
        (SELECT e.sequence + 1 FROM angzarr.events e
          WHERE e.domain = $1 AND e.edition = angzarr._edition($3) AND e.root = $2
          ORDER BY e.sequence DESC LIMIT 1),
        CASE WHEN angzarr._edition($3) = 'angzarr' THEN 0 ELSE
            least(angzarr._divergence_sequence($1, angzarr._edition($3), $2),
                  (SELECT coalesce(max(m.sequence) + 1, 0) FROM angzarr.events m
                    WHERE m.domain = $1 AND m.edition = 'angzarr' AND m.root = $2))
        END);
END;
COMMENT ON FUNCTION angzarr.next_sequence(text, uuid, text) IS
    'The next sequence of an aggregate (0 when it has no events); composite-aware on named editions.';

-- Checks a point in time-travel reads: raises 22023 for NULL or a negative sequence.
CREATE FUNCTION angzarr._check_as_of(as_of_sequence bigint, as_of_time timestamptz, by_time boolean)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF by_time AND as_of_time IS NULL THEN
        RAISE EXCEPTION 'as_of_time must not be NULL'
            USING ERRCODE = '22023', HINT = 'Pass a timestamptz, e.g. now() - interval ''1 hour''.';
    END IF;
    IF NOT by_time AND (as_of_sequence IS NULL OR as_of_sequence < 0) THEN
        RAISE EXCEPTION 'as_of_sequence must be 0 or more, got %', coalesce(as_of_sequence::text, 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'as_of_sequence is inclusive; use angzarr.read_stream() for the whole history.';
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION angzarr._check_as_of(bigint, timestamptz, boolean) IS
    'Internal: validates the point of read_as_of_sequence() / read_as_of_time().';

-- The aggregate's history up to and including `as_of_sequence`: the state it had right after
-- that event.
CREATE FUNCTION angzarr.read_as_of_sequence(
    domain text,
    root uuid,
    as_of_sequence bigint,
    edition text DEFAULT 'angzarr')
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
    SELECT s.sequence, s.event_type, s.payload, s.correlation_id, s.created_at, s.id, s.edition,
           s.global_position
      FROM angzarr.read_stream($1, $2, $4, to_sequence => least($3, 9223372036854775806) + 1) s
     WHERE angzarr._check_as_of($3, NULL, false)
     ORDER BY s.sequence;
END;
COMMENT ON FUNCTION angzarr.read_as_of_sequence(text, uuid, bigint, text) IS
    'Reads an aggregate''s events up to and including as_of_sequence (composite-aware on editions).';

-- The aggregate's history as it stood at `as_of_time`: the longest gap-free prefix of events
-- created at or before it. (created_at is the writer's transaction start, so a later sequence
-- can carry an earlier time; stopping at the first later event keeps the history replayable.)
CREATE FUNCTION angzarr.read_as_of_time(
    domain text,
    root uuid,
    as_of_time timestamptz,
    edition text DEFAULT 'angzarr')
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
    SELECT w.sequence, w.event_type, w.payload, w.correlation_id, w.created_at, w.id, w.edition,
           w.global_position
      FROM (SELECT s.*, bool_and(s.created_at <= $3) OVER (ORDER BY s.sequence) AS before
              FROM angzarr.read_stream($1, $2, $4) s
             WHERE angzarr._check_as_of(NULL, $3, true)) w
     WHERE w.before
     ORDER BY w.sequence;
END;
COMMENT ON FUNCTION angzarr.read_as_of_time(text, uuid, timestamptz, text) IS
    'Reads an aggregate''s events as they stood at as_of_time: the gap-free prefix created at or before it.';
