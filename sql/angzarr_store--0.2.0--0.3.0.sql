\echo Use "ALTER EXTENSION angzarr_store UPDATE TO '0.3.0'" to load this file. \quit
-- angzarr_store 0.2.0 -> 0.3.0. Each change below says what changed and why; the result must be
-- exactly a fresh 0.3.0 install (scripts/test_upgrade.sh compares the two schemas).

-- ---------------------------------------------------------------------------------------------
-- Performance: append_events(), both forms, is a C-language function (src/append.rs) instead of
-- PL/pgSQL: the same checks, errors and results, with the INSERT through a plan each backend
-- keeps. Its names are qualified, so it needs no SET search_path clause any more.
CREATE OR REPLACE FUNCTION angzarr.append_events(
    domain text,
    root uuid,
    event_types text[],
    payloads bytea[],
    edition text DEFAULT 'angzarr',
    expected_sequence bigint DEFAULT NULL,
    correlation_id text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    created_at timestamptz[] DEFAULT NULL,
    ids uuid[] DEFAULT NULL,
    OUT first_sequence bigint,
    OUT last_sequence bigint)
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'append_events_wrapper';

CREATE OR REPLACE FUNCTION angzarr.append_events(
    domain text,
    root uuid,
    events jsonb,
    edition text DEFAULT 'angzarr',
    expected_sequence bigint DEFAULT NULL,
    correlation_id text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    created_at timestamptz[] DEFAULT NULL,
    ids uuid[] DEFAULT NULL,
    OUT first_sequence bigint,
    OUT last_sequence bigint)
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'append_events_json_wrapper';

-- ---------------------------------------------------------------------------------------------
-- Performance: filtered feed reads cost what they return. Two indexes serve read_feed(domains =>)
-- and read_feed(event_types =>) in feed order; read_feed() reads one ordered range per listed
-- value of the filter; consumer groups can index their size
-- (feed_group_index_sql()). Building the indexes reads the whole events table once and blocks
-- appends while it runs (ALTER EXTENSION runs in one transaction): on a large store, run this
-- update in a quiet moment.
CREATE INDEX events_domain_feed_idx ON angzarr.events (domain, feed_tx, global_position);
CREATE INDEX events_type_feed_idx ON angzarr.events (event_type, feed_tx, global_position);
CREATE OR REPLACE FUNCTION angzarr.read_feed(
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
REVOKE ALL ON FUNCTION angzarr.feed_group_index_sql(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.feed_group_index_sql(integer) TO angzarr_admin;

-- ---------------------------------------------------------------------------------------------
-- Performance: backends keep the feed clock offset between transactions instead of reading
-- angzarr.feed_clock in every writing transaction; any change to the clock invalidates it.
CREATE FUNCTION angzarr."_feed_clock_changed"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', '_feed_clock_changed_wrapper';
REVOKE ALL ON FUNCTION angzarr._feed_clock_changed() FROM PUBLIC;
CREATE TRIGGER feed_clock_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON angzarr.feed_clock
    FOR EACH STATEMENT EXECUTE FUNCTION angzarr._feed_clock_changed();
ALTER TABLE angzarr.feed_clock ENABLE ALWAYS TRIGGER feed_clock_changed;
COMMENT ON FUNCTION angzarr._feed_clock_changed() IS
    'Trigger: makes every backend drop its cached feed clock offset when the clock changes.';
