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
-- feed_tx below the snapshot's xmin plus the feed clock offset that snapshot sees (a STABLE
-- function: every statement here sees the caller's snapshot): every writer still running has
-- feed_tx >= xmin + offset, every writer below it has finished (angzarr._advance_feed_clock()
-- explains why a raised offset keeps this true).
--
-- Filtered reads cost what they return: a filter is served by an index that leads with the
-- filtered column and continues in feed order (events_type_feed_idx, events_domain_feed_idx),
-- one ordered index range per listed value, merged; a consumer group member uses the group's
-- index when one was made for its size (angzarr.feed_group_index_sql()). Restricting the feed to
-- some rows keeps its order, so the guarantee holds for every filter.
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
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
-- A bitmap scan would read every row of the filtered value after the checkpoint and sort
-- them; the ordered index scan reads what the page returns and stops.
SET enable_bitmapscan = off AS $$
#variable_conflict use_column
DECLARE
    v_horizon bigint;
    v_editions text[];
BEGIN
    PERFORM angzarr._check_feed_read(after_feed_tx, after_position, max_count, member, members);
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + c.xid_offset INTO v_horizon
      FROM angzarr.feed_clock c;
    IF editions IS NOT NULL THEN
        v_editions := ARRAY(SELECT angzarr._edition(x) FROM unnest(editions) x);
    END IF;
    IF event_types IS NOT NULL THEN
        -- Event types are the narrowest filter: one index range per type.
        RETURN QUERY
        SELECT x.* FROM (SELECT DISTINCT t FROM unnest(event_types) t) ty
         CROSS JOIN LATERAL (
            SELECT e.feed_tx, e.global_position, e.domain, e.edition, e.root, e.sequence,
                   e.event_type, e.payload, e.correlation_id, e.created_at, e.id
              FROM angzarr.events e
             WHERE e.event_type = ty.t
               AND (e.feed_tx, e.global_position) > (after_feed_tx, after_position)
               AND e.feed_tx < v_horizon
               AND (domains IS NULL OR e.domain = ANY (domains))
               AND (v_editions IS NULL OR e.edition = ANY (v_editions))
               AND (members = 1 OR angzarr._feed_member(e.domain, e.edition, e.root, members) = member)
             ORDER BY e.feed_tx, e.global_position
             LIMIT max_count) x
         ORDER BY x.feed_tx, x.global_position
         LIMIT max_count;
    ELSIF domains IS NOT NULL THEN
        RETURN QUERY
        SELECT x.* FROM (SELECT DISTINCT d COLLATE "C" AS d FROM unnest(domains) d) dm
         CROSS JOIN LATERAL (
            SELECT e.feed_tx, e.global_position, e.domain, e.edition, e.root, e.sequence,
                   e.event_type, e.payload, e.correlation_id, e.created_at, e.id
              FROM angzarr.events e
             WHERE e.domain = dm.d
               AND (e.feed_tx, e.global_position) > (after_feed_tx, after_position)
               AND e.feed_tx < v_horizon
               AND (v_editions IS NULL OR e.edition = ANY (v_editions))
               AND (members = 1 OR angzarr._feed_member(e.domain, e.edition, e.root, members) = member)
             ORDER BY e.feed_tx, e.global_position
             LIMIT max_count) x
         ORDER BY x.feed_tx, x.global_position
         LIMIT max_count;
    ELSIF members > 1 THEN
        -- The group size is written into the statement so that the planner can match the
        -- group's expression index; without one this scans the feed order and filters.
        RETURN QUERY EXECUTE format(
            'SELECT e.feed_tx, e.global_position, e.domain, e.edition, e.root, e.sequence,
                    e.event_type, e.payload, e.correlation_id, e.created_at, e.id
               FROM angzarr.events e
              WHERE angzarr._feed_member(e.domain, e.edition, e.root, %s) = $1
                AND (e.feed_tx, e.global_position) > ($2, $3)
                AND e.feed_tx < $4
                AND ($5::text[] IS NULL OR e.edition = ANY ($5))
              ORDER BY e.feed_tx, e.global_position
              LIMIT $6', members)
        USING member, after_feed_tx, after_position, v_horizon, v_editions, max_count;
    ELSE
        RETURN QUERY
        SELECT e.feed_tx, e.global_position, e.domain, e.edition, e.root, e.sequence,
               e.event_type, e.payload, e.correlation_id, e.created_at, e.id
          FROM angzarr.events e
         WHERE (e.feed_tx, e.global_position) > (after_feed_tx, after_position)
           AND e.feed_tx < v_horizon
           AND (v_editions IS NULL OR e.edition = ANY (v_editions))
         ORDER BY e.feed_tx, e.global_position
         LIMIT max_count;
    END IF;
END
$$;
COMMENT ON FUNCTION angzarr.read_feed(bigint, bigint, bigint, text[], text[], text[], integer, integer) IS
    'Reads committed events after the checkpoint (after_feed_tx, after_position) in global feed order, at most max_count; resume from the last row''s (feed_tx, global_position).';

-- The index that lets each member of a consumer group of `members` read only its own share of
-- the feed: run its result once per group size, e.g. in psql
--   SELECT angzarr.feed_group_index_sql(4) \gexec
-- (CONCURRENTLY: writers keep appending while it builds). Every index costs each append a
-- little, so only groups that exist should have one; DROP INDEX removes it.
CREATE FUNCTION angzarr.feed_group_index_sql(members integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF members IS NULL OR members < 2 OR members > 1024 THEN
        RAISE EXCEPTION 'members must be between 2 and 1024, got %', coalesce(members::text, 'NULL')
            USING ERRCODE = '22023', HINT = 'A group of one reads the whole feed and needs no index.';
    END IF;
    RETURN format('CREATE INDEX CONCURRENTLY IF NOT EXISTS events_feed_group_%s_idx ON angzarr.events '
                  '(angzarr._feed_member(domain, edition, root, %s), feed_tx, global_position)',
                  members, members);
END
$$;
COMMENT ON FUNCTION angzarr.feed_group_index_sql(integer) IS
    'The CREATE INDEX statement that serves read_feed() for each member of a consumer group of this size (run it with \gexec).';
