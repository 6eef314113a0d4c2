-- Refuses a feed read that could not mean anything; one call per query (raises 22023).
CREATE FUNCTION angzarr._check_feed_read(
    after_feed_tx bigint, after_position bigint, max_count bigint, member integer, members integer)
RETURNS boolean LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF after_feed_tx IS NULL OR after_position IS NULL OR after_feed_tx < 0 OR after_position < 0 THEN
        RAISE EXCEPTION 'feed checkpoint (%, %) is invalid',
            coalesce(after_feed_tx::text, 'NULL'), coalesce(after_position::text, 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'Start from (0, 0); resume from the (feed_tx, global_position) of the last row you processed.';
    END IF;
    IF max_count < 0 THEN
        RAISE EXCEPTION 'max_count % is negative', max_count
            USING ERRCODE = '22023', HINT = 'Pass the page size, or NULL for no limit.';
    END IF;
    IF members IS NULL OR members < 1 OR member IS NULL OR member < 0 OR member >= members THEN
        RAISE EXCEPTION 'consumer group member % of % is invalid',
            coalesce(member::text, 'NULL'), coalesce(members::text, 'NULL')
            USING ERRCODE = '22023',
                  DETAIL = 'member must be in [0, members) and members at least 1.',
                  HINT = 'Number the members of a group of n from 0 to n - 1.';
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION angzarr._check_feed_read(bigint, bigint, bigint, integer, integer) IS
    'Internal: validates angzarr.read_feed() arguments; raises 22023.';

-- The consumer-group bucket of an aggregate, without argument checks, so read_feed can inline it.
-- hashtextextended is the hash PostgreSQL's hash partitioning relies on, so it is stable.
CREATE FUNCTION angzarr._feed_member(domain text, edition text, root uuid, members integer)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (((hashtextextended(($1 || '/' || $2 || '/' || $3::text) COLLATE "C", 0) % $4) + $4) % $4)::integer;
END;
COMMENT ON FUNCTION angzarr._feed_member(text, text, uuid, integer) IS
    'Internal: the consumer-group member (0 .. members - 1) an aggregate belongs to.';

-- Lets a client see which member of a group of `members` receives an aggregate's events.
CREATE FUNCTION angzarr.feed_member(domain text, root uuid, members integer, edition text DEFAULT 'angzarr')
RETURNS integer LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF members IS NULL OR members < 1 THEN
        RAISE EXCEPTION 'members must be at least 1, got %', coalesce(members::text, 'NULL')
            USING ERRCODE = '22023', HINT = 'Pass the number of members in the consumer group.';
    END IF;
    RETURN angzarr._feed_member(domain, angzarr._edition(edition), root, members);
END
$$;
COMMENT ON FUNCTION angzarr.feed_member(text, uuid, integer, text) IS
    'The consumer-group member (0 .. members - 1) that receives this aggregate''s events from angzarr.read_feed().';

-- The feed is complete below this checkpoint: every event that will ever sort before it is
-- committed and visible now. A filtered reader that calls this BEFORE read_feed() may move its
-- checkpoint up to it when read_feed() returned fewer rows than asked for. It is the snapshot's
-- xmin on the feed clock (plus the offset that snapshot sees; see angzarr.feed_clock).
CREATE FUNCTION angzarr.feed_horizon(OUT feed_tx bigint, OUT global_position bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + c.xid_offset, 0::bigint
      FROM angzarr.feed_clock c
$$;
COMMENT ON FUNCTION angzarr.feed_horizon() IS
    'Checkpoint below which the feed is complete now; filtered readers advance to it when read_feed() returns a short page.';

-- The global feed: committed events after a checkpoint in (feed_tx, global_position) order,
-- which never changes and never gains rows before an already-returned one. Rows are limited to
-- feed_tx below the snapshot's xmin plus the feed clock offset that snapshot sees, taken in this
-- same statement: every writer still running has feed_tx >= xmin + offset, every writer below
-- it has finished (angzarr._advance_feed_clock() explains why a raised offset keeps this true).
--
-- Filtered reads cost what they return: a filter is served by an index that leads with the
-- filtered column and continues in feed order (events_type_feed_idx, events_domain_feed_idx),
-- one ordered index range per listed value, merged; a consumer group member can use an index
-- made for its group's size (angzarr.feed_group_index_sql()) where the planner finds it cheaper
-- than walking the feed order. Restricting the feed to
-- some rows keeps its order, so the guarantee holds for every filter. One branch per kind of
-- filter; the planner drops the branches whose condition is false for the call's arguments.
-- A plain SQL function, so it inlines into the caller's query (no materialisation, and the
-- group size reaches the planner as a constant that matches the group's index).
CREATE FUNCTION angzarr.read_feed(
    after_feed_tx bigint DEFAULT 0,
    after_position bigint DEFAULT 0,
    max_count bigint DEFAULT 1000,
    domains text[] DEFAULT NULL,
    editions text[] DEFAULT NULL,
    event_types text[] DEFAULT NULL,
    member integer DEFAULT 0,
    members integer DEFAULT 1)
RETURNS TABLE (
    feed_tx bigint,
    global_position bigint,
    domain text,
    edition text,
    root uuid,
    sequence bigint,
    event_type text,
    payload bytea,
    correlation_id text,
    created_at timestamptz,
    id uuid)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT f.feed_tx, f.global_position, f.domain, f.edition, f.root, f.sequence, f.event_type,
           f.payload, f.correlation_id, f.created_at, f.id
      FROM (
        -- No domain or event type filter: the feed order itself (events_feed_key). Every
        -- branch orders and limits itself, so each is planned for its first rows (an outer
        -- LIMIT does not reach into UNION ALL branches) and they merge in order.
        (SELECT e.feed_tx, e.global_position, e.domain, e.edition, e.root, e.sequence, e.event_type,
               e.payload, e.correlation_id, e.created_at, e.id
          FROM angzarr.events e
         WHERE $4 IS NULL AND $6 IS NULL
           AND (e.feed_tx, e.global_position) > ($1, $2)
           AND e.feed_tx < (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + c.xid_offset
                              FROM angzarr.feed_clock c)
           AND ($5 IS NULL OR e.edition = ANY (ARRAY(SELECT angzarr._edition(x) FROM unnest($5) x)))
           AND ($8 = 1 OR angzarr._feed_member(e.domain, e.edition, e.root, $8) = $7)
         ORDER BY e.feed_tx, e.global_position
         LIMIT $3)
        UNION ALL
        -- Event types (the narrowest filter, also with domains): one range per type.
        (SELECT x.* FROM (SELECT DISTINCT t FROM unnest($6) t) ty
         CROSS JOIN LATERAL (
            SELECT e.feed_tx, e.global_position, e.domain, e.edition, e.root, e.sequence,
                   e.event_type, e.payload, e.correlation_id, e.created_at, e.id
              FROM angzarr.events e
             WHERE e.event_type = ty.t
               AND (e.feed_tx, e.global_position) > ($1, $2)
               AND e.feed_tx < (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + c.xid_offset
                                  FROM angzarr.feed_clock c)
               AND ($4 IS NULL OR e.domain = ANY ($4))
               AND ($5 IS NULL OR e.edition = ANY (ARRAY(SELECT angzarr._edition(x) FROM unnest($5) x)))
               AND ($8 = 1 OR angzarr._feed_member(e.domain, e.edition, e.root, $8) = $7)
             ORDER BY e.feed_tx, e.global_position
             LIMIT $3) x
         WHERE $6 IS NOT NULL
         ORDER BY x.feed_tx, x.global_position
         LIMIT $3)
        UNION ALL
        -- Domains: one range per domain.
        (SELECT x.* FROM (SELECT DISTINCT d COLLATE "C" AS d FROM unnest($4) d) dm
         CROSS JOIN LATERAL (
            SELECT e.feed_tx, e.global_position, e.domain, e.edition, e.root, e.sequence,
                   e.event_type, e.payload, e.correlation_id, e.created_at, e.id
              FROM angzarr.events e
             WHERE e.domain = dm.d
               AND (e.feed_tx, e.global_position) > ($1, $2)
               AND e.feed_tx < (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + c.xid_offset
                                  FROM angzarr.feed_clock c)
               AND ($5 IS NULL OR e.edition = ANY (ARRAY(SELECT angzarr._edition(x) FROM unnest($5) x)))
               AND ($8 = 1 OR angzarr._feed_member(e.domain, e.edition, e.root, $8) = $7)
             ORDER BY e.feed_tx, e.global_position
             LIMIT $3) x
         WHERE $4 IS NOT NULL AND $6 IS NULL
         ORDER BY x.feed_tx, x.global_position
         LIMIT $3)
      ) f
     ORDER BY f.feed_tx, f.global_position
     -- The arguments are checked here: LIMIT is evaluated before any row is read.
     LIMIT CASE WHEN angzarr._check_feed_read($1, $2, $3, $7, $8) THEN $3 END;
END;
COMMENT ON FUNCTION angzarr.read_feed(bigint, bigint, bigint, text[], text[], text[], integer, integer) IS
    'Reads committed events after the checkpoint (after_feed_tx, after_position) in global feed order, at most max_count; resume from the last row''s (feed_tx, global_position).';

-- The index that lets each member of a consumer group of `members` read only its own share of
-- the feed, then fresh statistics so the planner knows each member's share: run its result
-- once per group size, e.g. in psql
--   SELECT * FROM angzarr.feed_group_index_sql(4) \gexec
-- (CONCURRENTLY: writers keep appending while it builds). Every index costs each append a
-- little, so only groups that exist should have one; DROP INDEX removes it.
CREATE FUNCTION angzarr.feed_group_index_sql(members integer)
RETURNS SETOF text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF members IS NULL OR members < 2 OR members > 1024 THEN
        RAISE EXCEPTION 'members must be between 2 and 1024, got %', coalesce(members::text, 'NULL')
            USING ERRCODE = '22023', HINT = 'A group of one reads the whole feed and needs no index.';
    END IF;
    RETURN NEXT format('CREATE INDEX CONCURRENTLY IF NOT EXISTS events_feed_group_%s_idx ON angzarr.events '
                       '(angzarr._feed_member(domain, edition, root, %s), feed_tx, global_position)',
                       members, members);
    RETURN NEXT 'ANALYZE angzarr.events';
END
$$;
COMMENT ON FUNCTION angzarr.feed_group_index_sql(integer) IS
    'The statements (CREATE INDEX, ANALYZE) that serve read_feed() for each member of a consumer group of this size (run them with \gexec).';
