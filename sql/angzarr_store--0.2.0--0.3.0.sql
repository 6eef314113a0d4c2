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
-- and read_feed(event_types =>) in feed order; read_feed() picks the index for the filter and
-- reads one ordered range per listed value; consumer groups can index their size
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
