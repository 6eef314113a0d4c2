\echo Use "ALTER EXTENSION angzarr_store UPDATE TO '0.2.0'" to load this file. \quit
-- angzarr_store 0.1.0 -> 0.2.0. Each change below says what changed and why; the result must be
-- exactly a fresh 0.2.0 install (scripts/test_upgrade.sh compares the two schemas).

-- Core: the trigger draws the id of a row that comes without one, so that it can tell a
-- writer-chosen id (a row ON CONFLICT DO NOTHING may skip) from its own. Inserting NULL or
-- DEFAULT for id keeps working.
ALTER TABLE angzarr.events ALTER COLUMN id DROP DEFAULT;

-- Core: create_edition() and discard_edition() serialise with appends that start an
-- aggregate's history in the edition through the edition's lock (src/locks.rs).
CREATE FUNCTION angzarr."_lock_edition"("edition" TEXT) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'lock_edition_wrapper';
REVOKE ALL ON FUNCTION angzarr._lock_edition(text) FROM PUBLIC;
COMMENT ON FUNCTION angzarr._lock_edition(text) IS
    'Internal: takes the edition''s lock in exclusive mode until the transaction ends; returns its event count as committed now.';

-- Core: the aggregate locks are no longer advisory locks SQL can take (see src/locks.rs).
COMMENT ON FUNCTION angzarr.aggregate_lock_key(text, uuid, text) IS
    'The key of the lock writers of this aggregate hold (pg_locks: advisory, objsubid 3, classid/objid its halves).';

-- ---------------------------------------------------------------------------------------------
-- Editions: defining an edition and starting an aggregate in it serialise.
-- create_edition() could not see an uncommitted first append to the edition it was defining
-- and put a divergence point below it, leaving a hole in the edition's history. It now takes
-- the edition's lock (angzarr._lock_edition, held in share mode by such appends) before its
-- checks and counts the edition's events as committed after the lock, also under REPEATABLE
-- READ. discard_edition() takes it too, so no append starts an aggregate in the edition while
-- it runs, and refuses (40001) when its snapshot misses events it would leave behind.
-- check_integrity() now reports a hole in a named edition's history. CREATE OR REPLACE drops
-- SECURITY DEFINER, so it is set again as sql/roles.sql does.
CREATE OR REPLACE FUNCTION angzarr.create_edition(
    name text,
    divergences jsonb DEFAULT NULL,
    diverged_at timestamptz DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_name text;
    v_bad record;
    v_events bigint;
BEGIN
    IF angzarr._edition(create_edition.name) = 'angzarr' THEN
        RAISE EXCEPTION 'the main edition "angzarr" is protected'
            USING ERRCODE = 'ZA003',
                  DETAIL = format('create_edition(%s) names the main timeline; NULL and '''' mean main too.',
                                  coalesce(quote_literal(create_edition.name), 'NULL')),
                  HINT = 'Pick another name for the edition.';
    END IF;
    v_name := angzarr._check_edition(create_edition.name);
    IF divergences IS NOT NULL AND jsonb_typeof(divergences) <> 'object' THEN
        RAISE EXCEPTION 'divergences must be a JSON object, got %', jsonb_typeof(divergences)
            USING ERRCODE = '22023', HINT = 'Pass a sequence per domain, e.g. ''{"player": 5}''.';
    END IF;
    SELECT d.key, d.value INTO v_bad
      FROM jsonb_each(coalesce(divergences, '{}')) d
     WHERE CASE WHEN jsonb_typeof(d.value) <> 'number' THEN true
                ELSE d.value::numeric < 0 OR d.value::numeric <> trunc(d.value::numeric)
                     OR d.value::numeric > 9223372036854775807 END
     ORDER BY d.key LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'divergence of domain "%" must be a sequence (an integer, 0 or more), got %',
            v_bad.key, v_bad.value
            USING ERRCODE = '22023', HINT = 'Pass a sequence per domain, e.g. ''{"player": 5}''.';
    END IF;
    PERFORM angzarr._check_domain(d.key) FROM jsonb_each(coalesce(divergences, '{}')) d;
    -- The count is taken through a snapshot newer than the lock, so it includes what an append
    -- committed while this call waited, also under REPEATABLE READ.
    v_events := angzarr._lock_edition(v_name);
    IF EXISTS (SELECT 1 FROM angzarr.editions e WHERE e.name = v_name) THEN
        RAISE EXCEPTION 'edition "%" already exists', v_name
            USING ERRCODE = '23505', HINT = 'Pick another name, or discard the edition first.';
    END IF;
    IF v_events > 0 THEN
        RAISE EXCEPTION 'edition "%" already has events', v_name
            USING ERRCODE = '55000',
                  DETAIL = format('%s events are stored in it; it diverged implicitly at each aggregate''s first own event.', v_events),
                  HINT = 'Create editions before writing to them, or discard this one first.';
    END IF;
    INSERT INTO angzarr.editions (name, diverged_at) VALUES (v_name, diverged_at);
    INSERT INTO angzarr.edition_divergences (edition, domain, sequence)
    SELECT v_name, d.key, d.value::numeric::bigint FROM jsonb_each(coalesce(divergences, '{}')) d;
END
$$;
ALTER FUNCTION angzarr.create_edition(text, jsonb, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION angzarr.discard_edition(name text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_name text := angzarr._edition(discard_edition.name);
    v_deleted bigint;
    v_stored bigint;
BEGIN
    IF v_name = 'angzarr' THEN
        RAISE EXCEPTION 'the main edition "angzarr" is protected'
            USING ERRCODE = 'ZA003',
                  DETAIL = format('discard_edition(%s) names the main timeline; NULL and '''' mean main too.',
                                  coalesce(quote_literal(discard_edition.name), 'NULL')),
                  HINT = 'Only named editions can be discarded; main''s history is immutable.';
    END IF;
    -- First keep appends from starting new aggregates in the edition, then wait for the
    -- writers of its existing ones; after that nothing can be added to the edition, and the
    -- second call counts what it holds through a snapshot newer than every lock.
    PERFORM angzarr._lock_edition(v_name);
    PERFORM angzarr._lock_aggregate(k.domain, v_name, k.root)
       FROM (SELECT DISTINCT p.domain, r.root
               FROM angzarr._stored_domain_editions() p
              CROSS JOIN LATERAL angzarr._stored_roots(p.domain, p.edition) r
              WHERE p.edition = v_name
              ORDER BY p.domain, r.root) k;
    v_stored := angzarr._lock_edition(v_name);
    PERFORM set_config('angzarr._discarding_edition', v_name, true);
    DELETE FROM angzarr.events e
     USING (SELECT p.domain FROM angzarr._stored_domain_editions() p WHERE p.edition = v_name) d
     WHERE e.domain = d.domain AND e.edition = v_name;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    -- Under READ COMMITTED the DELETE's snapshot is newer than the locks and sees every event.
    -- A REPEATABLE READ or SERIALIZABLE snapshot is older and misses those committed since.
    IF v_deleted < v_stored THEN
        RAISE EXCEPTION 'could not serialize access to edition "%" due to concurrent appends', v_name
            USING ERRCODE = '40001',
                  DETAIL = format('The edition holds %s events, %s of them visible to this transaction''s snapshot (%s).',
                                  v_stored, v_deleted, current_setting('transaction_isolation')),
                  HINT = 'Retry the transaction, or discard editions under READ COMMITTED.';
    END IF;
    PERFORM set_config('angzarr._discarding_edition', '', true);
    PERFORM angzarr._forget_edition(v_name);
    DELETE FROM angzarr.snapshots s WHERE s.edition = v_name;
    DELETE FROM angzarr.positions p WHERE p.edition = v_name;
    DELETE FROM angzarr.editions e WHERE e.name = v_name;
    RETURN v_deleted;
END
$$;
ALTER FUNCTION angzarr.discard_edition(text)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION angzarr.check_integrity()
RETURNS TABLE (problem text, domain text, edition text, root uuid, sequence bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_indexscan = off SET enable_indexonlyscan = off SET enable_bitmapscan = off AS $$
    WITH ordered AS (
        SELECT e.domain, e.edition, e.root, e.sequence, e.feed_tx, e.global_position, e.created_at,
               lag(e.sequence) OVER w AS prev_sequence,
               lag(e.feed_tx) OVER w AS prev_feed_tx,
               lag(e.global_position) OVER w AS prev_position,
               row_number() OVER w AS n
          FROM angzarr.events e
        WINDOW w AS (PARTITION BY e.domain, e.edition, e.root ORDER BY e.sequence, e.global_position)
    ),
    -- A named edition's aggregate reads as main's events below the divergence point, then its
    -- own (angzarr.read_stream). The point is angzarr._divergence_sequence()'s rule, computed
    -- here for all aggregates at once: that function probes the index once per aggregate.
    edition_starts AS (
        SELECT o.domain, o.edition, o.root, o.sequence AS first_own,
               least(o.sequence, dv.sequence,
                     CASE WHEN ed.diverged_at IS NOT NULL THEN
                         coalesce(max(m.sequence) FILTER (WHERE m.created_at < ed.diverged_at) + 1, 0)
                     END) AS divergence
          FROM ordered o
          LEFT JOIN angzarr.edition_divergences dv ON dv.edition = o.edition AND dv.domain = o.domain
          LEFT JOIN angzarr.editions ed ON ed.name = o.edition
          LEFT JOIN ordered m ON m.domain = o.domain AND m.edition = 'angzarr' AND m.root = o.root
         WHERE o.n = 1 AND o.edition <> 'angzarr'
         GROUP BY o.domain, o.edition, o.root, o.sequence, dv.sequence, ed.diverged_at
    ),
    -- Where the shared part of main ends: one past its last event below the divergence point.
    edition_joins AS (
        SELECT s.domain, s.edition, s.root, s.first_own, s.divergence,
               coalesce(max(m.sequence) FILTER (WHERE m.sequence < s.divergence) + 1, 0) AS shared_end
          FROM edition_starts s
          LEFT JOIN ordered m ON m.domain = s.domain AND m.edition = 'angzarr' AND m.root = s.root
         GROUP BY s.domain, s.edition, s.root, s.first_own, s.divergence
    )
    -- The main timeline starts every aggregate at 0.
    SELECT 'gap'::text, o.domain, o.edition, o.root, o.sequence,
           format('aggregate starts at sequence %s instead of 0', o.sequence)
      FROM ordered o
     WHERE o.n = 1 AND o.edition = 'angzarr' AND o.sequence <> 0
    UNION ALL
    SELECT 'gap', o.domain, o.edition, o.root, o.sequence,
           format('sequences %s to %s are missing', o.prev_sequence + 1, o.sequence - 1)
      FROM ordered o
     WHERE o.prev_sequence IS NOT NULL AND o.sequence > o.prev_sequence + 1
    UNION ALL
    -- A named edition's own events must continue right after the main events it shares.
    SELECT 'gap', j.domain, j.edition, j.root, j.first_own,
           format('sequences %s to %s are missing between the main events the edition shares (divergence point %s) and its own first event',
                  j.shared_end, j.first_own - 1, j.divergence)
      FROM edition_joins j
     WHERE j.first_own > j.shared_end
    UNION ALL
    SELECT 'duplicate sequence', o.domain, o.edition, o.root, o.sequence,
           format('sequence %s is stored more than once', o.sequence)
      FROM ordered o
     WHERE o.prev_sequence = o.sequence
    UNION ALL
    SELECT 'feed order', o.domain, o.edition, o.root, o.sequence,
           format('feed position (%s, %s) is not after the previous event''s (%s, %s)',
                  o.feed_tx, o.global_position, o.prev_feed_tx, o.prev_position)
      FROM ordered o
     WHERE o.prev_sequence IS NOT NULL AND o.prev_sequence <> o.sequence
       AND (o.feed_tx, o.global_position) <= (o.prev_feed_tx, o.prev_position)
    UNION ALL
    SELECT 'duplicate position', min(e.domain), min(e.edition), NULL::uuid, NULL::bigint,
           format('global_position %s is held by %s events', e.global_position, count(*))
      FROM angzarr.events e
     GROUP BY e.global_position
    HAVING count(*) > 1
    UNION ALL
    SELECT 'position counter', NULL, NULL, NULL::uuid, NULL::bigint,
           format('angzarr.events_global_position_seq is at %s but positions up to %s are stored',
                  s.last_value, m.max_position)
      FROM (SELECT max(e.global_position) AS max_position FROM angzarr.events e) m,
           LATERAL (SELECT CASE WHEN q.is_called THEN q.last_value ELSE q.last_value - 1 END
                           AS last_value
                      FROM angzarr.events_global_position_seq q) s
     WHERE m.max_position > s.last_value
    ORDER BY 1, 2, 3, 4, 5
$$;
COMMENT ON FUNCTION angzarr.check_integrity() IS
    'Scans for sequence gaps (named editions'' composite histories included) and duplicates, out-of-order or repeated feed positions and a lagging position counter; returns nothing when healthy.';
-- End of the editions block.

-- API: append_events takes edition as its first optional argument (the rule every function
-- follows: domain, root, required arguments, then edition), optional per-event created_at and
-- ids, and an empty batch is a no-op that still checks expected_sequence. Positional calls
-- that passed expected_sequence fifth must name it now.
DROP FUNCTION angzarr.append_events(text, uuid, jsonb, bigint, text, text, text);
DROP FUNCTION angzarr.append_events(text, uuid, text[], bytea[], bigint, text, text, text);
CREATE FUNCTION angzarr."_check_next_sequence"(
	"domain" TEXT,
	"edition" TEXT,
	"root" uuid,
	"next_sequence" bigint
) RETURNS void
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'check_next_sequence_wrapper';
REVOKE ALL ON FUNCTION angzarr._check_next_sequence(text, text, uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr._check_next_sequence(text, text, uuid, bigint) TO angzarr_writer;
COMMENT ON FUNCTION angzarr._check_next_sequence(text, text, uuid, bigint) IS
    'Internal: an empty append''s check; locks the aggregate and raises ZA001 when its next sequence differs.';
-- Appends a batch of binary events to one aggregate atomically and returns the sequences it got.
-- edition: the timeline (main when omitted). expected_sequence: the next sequence the caller
-- believes the aggregate has (0 = must be new, NULL = any). idempotency_key: a repeated append
-- with the same key returns the first range. created_at and ids: optional per-event times and
-- event ids (same length as the batch). An empty batch writes nothing, returns NULLs, and still
-- checks expected_sequence.
CREATE FUNCTION angzarr.append_events(
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
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_edition text := angzarr._edition(append_events.edition);
    v_key text := nullif(append_events.idempotency_key, '');
BEGIN
    IF event_types IS NULL OR payloads IS NULL THEN
        RAISE EXCEPTION 'event_types and payloads must not be NULL'
            USING ERRCODE = '22004',
                  HINT = 'Pass one event type and one payload per event; empty arrays append nothing.';
    END IF;
    IF array_ndims(event_types) > 1 OR array_ndims(payloads) > 1
       OR array_ndims(append_events.created_at) > 1 OR array_ndims(ids) > 1 THEN
        RAISE EXCEPTION 'event_types, payloads, created_at and ids must be one-dimensional arrays'
            USING ERRCODE = '22023', HINT = 'Pass ARRAY[''A'', ''B''], not ARRAY[[''A''], [''B'']].';
    END IF;
    IF octet_length(append_events.correlation_id) > 1024 OR octet_length(v_key) > 1024 THEN
        RAISE EXCEPTION 'correlation_id and idempotency_key are limited to 1024 bytes'
            USING ERRCODE = '22001',
                  DETAIL = format('correlation_id has %s bytes, idempotency_key %s.',
                                  coalesce(octet_length(append_events.correlation_id), 0),
                                  coalesce(octet_length(v_key), 0)),
                  HINT = 'Use an identifier such as a UUID, not the content itself.';
    END IF;
    IF cardinality(event_types) IS DISTINCT FROM cardinality(payloads) THEN
        RAISE EXCEPTION 'append_events got % event types but % payloads',
            cardinality(event_types), coalesce(cardinality(payloads), 0)
            USING ERRCODE = '22023', HINT = 'Pass one payload per event type.';
    END IF;
    IF append_events.created_at IS NOT NULL
       AND cardinality(append_events.created_at) <> cardinality(event_types) THEN
        RAISE EXCEPTION 'append_events got % events but % created_at values',
            cardinality(event_types), cardinality(append_events.created_at)
            USING ERRCODE = '22023', HINT = 'Pass one time per event (NULL for the transaction''s time), or no created_at.';
    END IF;
    IF ids IS NOT NULL AND cardinality(ids) <> cardinality(event_types) THEN
        RAISE EXCEPTION 'append_events got % events but % ids', cardinality(event_types), cardinality(ids)
            USING ERRCODE = '22023', HINT = 'Pass one id per event, or no ids.';
    END IF;
    IF array_position(ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'id % of the batch is NULL', array_position(ids, NULL)
            USING ERRCODE = '22004', HINT = 'Pass an id for every event, or no ids at all.';
    END IF;
    IF array_position(payloads, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'payload % of the batch is NULL', array_position(payloads, NULL)
            USING ERRCODE = '22004', HINT = 'Pass an empty bytea (''\x'') for an event without payload.';
    END IF;
    IF '' = ANY (event_types) OR array_position(event_types, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'every event needs a non-empty event type'
            USING ERRCODE = '22023', HINT = 'Name the event, e.g. ''FundsDeposited''.';
    END IF;
    IF v_key IS NOT NULL THEN
        -- Serialise with other writers of this aggregate first, so a concurrent repeat of the
        -- same append sees the committed original.
        PERFORM angzarr._lock_aggregate(append_events.domain, v_edition, append_events.root);
        SELECT r.first_sequence, r.last_sequence INTO first_sequence, last_sequence
          FROM angzarr._idempotent_range(append_events.domain, v_edition, append_events.root, v_key) r;
        IF first_sequence IS NOT NULL THEN
            RETURN;
        END IF;
    END IF;
    IF cardinality(event_types) = 0 THEN
        -- Nothing to write; the expectation is checked (and the aggregate locked) all the same.
        IF expected_sequence IS NOT NULL THEN
            PERFORM angzarr._check_next_sequence(append_events.domain, v_edition, append_events.root,
                                                 expected_sequence);
        END IF;
        RETURN;
    END IF;
    IF expected_sequence IS NOT NULL THEN
        PERFORM angzarr._expect_next_sequence(append_events.domain, v_edition, append_events.root,
                                              expected_sequence);
    END IF;
    -- created_at and ids may be NULL arrays: unnest then gives NULLs (the transaction's time,
    -- and an id the trigger draws).
    WITH appended AS (
        INSERT INTO angzarr.events (domain, edition, root, event_type, payload, correlation_id, idempotency_key,
                                    created_at, id)
        SELECT append_events.domain, v_edition, append_events.root, u.event_type, u.payload,
               append_events.correlation_id, v_key, coalesce(u.created_at, now()), u.id
          FROM unnest(event_types, payloads, append_events.created_at, ids)
               WITH ORDINALITY AS u(event_type, payload, created_at, id, n)
         ORDER BY u.n
        RETURNING sequence)
    SELECT min(a.sequence), max(a.sequence) INTO first_sequence, last_sequence FROM appended a;
END
$$;
COMMENT ON FUNCTION angzarr.append_events(text, uuid, text[], bytea[], text, bigint, text, text, timestamptz[], uuid[]) IS
    'Appends binary events to one aggregate; returns the assigned sequence range (NULLs for an empty batch). Raises ZA001 when expected_sequence is stale.';

-- The JSON flavour: events is a JSON array of {"type": ..., "payload": ...}; each payload is
-- stored as its JSON text in UTF-8 and reads back with angzarr.payload_json(). The other
-- arguments mean what they mean for the binary form.
CREATE FUNCTION angzarr.append_events(
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
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_types text[];
    v_payloads bytea[];
BEGIN
    IF jsonb_typeof(events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'events must be a JSON array, got %', coalesce(jsonb_typeof(events), 'NULL')
            USING ERRCODE = '22023', HINT = 'Pass ''[{"type": "Deposited", "payload": {"amount": 10}}]''.';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(events) e
                WHERE jsonb_typeof(e) <> 'object' OR jsonb_typeof(e -> 'type') IS DISTINCT FROM 'string') THEN
        RAISE EXCEPTION 'every event must be a JSON object with a string "type"'
            USING ERRCODE = '22023', HINT = 'Pass ''[{"type": "Deposited", "payload": {"amount": 10}}]''.';
    END IF;
    SELECT coalesce(array_agg(e ->> 'type' ORDER BY n), '{}'),
           coalesce(array_agg(convert_to(coalesce(e -> 'payload', 'null'::jsonb)::text, 'UTF8') ORDER BY n), '{}')
      INTO v_types, v_payloads
      FROM jsonb_array_elements(events) WITH ORDINALITY AS x(e, n);
    SELECT a.first_sequence, a.last_sequence INTO first_sequence, last_sequence
      FROM angzarr.append_events(domain, root, v_types, v_payloads, edition => edition,
                                 expected_sequence => expected_sequence, correlation_id => correlation_id,
                                 idempotency_key => idempotency_key, created_at => created_at, ids => ids) a;
END
$$;
COMMENT ON FUNCTION angzarr.append_events(text, uuid, jsonb, text, bigint, text, text, timestamptz[], uuid[]) IS
    'Appends JSON events ([{"type": ..., "payload": ...}]) to one aggregate; returns the assigned sequence range (NULLs for an empty array).';
REVOKE ALL ON FUNCTION angzarr.append_events(text, uuid, text[], bytea[], text, bigint, text, text, timestamptz[], uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION angzarr.append_events(text, uuid, jsonb, text, bigint, text, text, timestamptz[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.append_events(text, uuid, text[], bytea[], text, bigint, text, text, timestamptz[], uuid[]) TO angzarr_writer;
GRANT EXECUTE ON FUNCTION angzarr.append_events(text, uuid, jsonb, text, bigint, text, text, timestamptz[], uuid[]) TO angzarr_writer;

-- Core: writers may name their events (the trigger gives a skipped row's sequence back), and a
-- plain INSERT that reuses another append's idempotency key is refused with ZA005.
GRANT INSERT (id) ON angzarr.events TO angzarr_writer;

-- ---------------------------------------------------------------------------------------------
-- Feed clock (begin). feed_tx was the writer's raw transaction id, so a dump restored into
-- another cluster (lower ids) or a store moved by logical replication let new events sort below
-- moved events and checkpoints. feed_tx is now the transaction id plus a per-database offset
-- (angzarr.feed_clock, not dumped) that restored and replicated rows raise; readers' horizon
-- adds the same offset. Existing rows keep their feed_tx: the offset starts at 0, so nothing
-- moves on upgrade. See src/feed_clock.rs and sql/fn_feed_clock.sql.
-- The feed clock offset O of this database: writers stamp feed_tx = transaction id + O, readers
-- pass rows below snapshot xmin + O. Transaction ids are one cluster's own; O is what lets rows
-- brought in from another cluster (a restored dump, logical replication) keep their feed_tx and
-- still sort before everything written here afterwards (src/feed_clock.rs raises it, see
-- angzarr._advance_feed_clock()). It only grows. Deliberately NOT marked with
-- pg_extension_config_dump: O is relative to this cluster's transaction ids, so a dump must not
-- carry it to another cluster; a restore starts from 0 and raises it past the restored rows.
CREATE TABLE angzarr.feed_clock (
    -- Exactly one row.
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    xid_offset bigint NOT NULL CHECK (xid_offset >= 0)
);
COMMENT ON TABLE angzarr.feed_clock IS
    'Feed clock offset: feed_tx = transaction id + xid_offset; raised only by angzarr.advance_feed_clock() and restored or replicated rows.';
INSERT INTO angzarr.feed_clock (xid_offset) VALUES (0);

-- Raises the feed clock past rows brought in from another cluster (a restore, logical
-- replication): src/feed_clock.rs calls it before a transaction that wrote such rows commits,
-- with the largest feed_tx and global_position among them. Returns the offset now in force.
--
-- Why a raise cannot let a reader skip a row. A reader passes only rows with feed_tx below
-- H = xmin + O_r (xmin of its snapshot, O_r the offset that snapshot sees). A row it cannot see
-- yet belongs to a writer running at its snapshot, whose id is >= xmin, so the row is safe when
-- that writer stamped with an offset >= O_r. Writers read O (latest committed value) only while
-- they hold ROW EXCLUSIVE on angzarr.events, which they keep until they end. The raise first
-- takes SHARE on angzarr.events: it waits until every writer that may have read the old offset
-- has ended, and keeps new writers out until it commits; they then read the new offset (through
-- the latest snapshot, even under REPEATABLE READ). So a reader whose snapshot sees the new
-- offset took it after the raise committed, after every old-offset writer had ended: their rows
-- are visible to it, none is ahead of it. A reader whose snapshot does not see the raise uses the
-- old offset, below what every writer stamps. O only grows, so this holds for any number of raises.
-- The new offset is measured from the oldest transaction still running once the lock is held:
-- every later writer has an id at least that, so it stamps above moved_feed_tx, and above every
-- restored checkpoint. Two concurrent raises that both wrote events can deadlock (each holds
-- ROW EXCLUSIVE); one is cancelled with 40P01 and can be retried.
CREATE FUNCTION angzarr._advance_feed_clock(moved_feed_tx bigint, moved_position bigint)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_need bigint;
    v_offset bigint;
BEGIN
    -- Real clocks are nowhere near this (2^62 is 2^30 epochs of 2^32 ids); a value beyond it is
    -- damage, and following it would leave new writers little room before bigint overflows.
    IF moved_feed_tx > (1::bigint << 62) THEN
        RAISE EXCEPTION 'feed_tx % is beyond the feed clock''s range', moved_feed_tx
            USING ERRCODE = '22003',
                  DETAIL = pg_catalog.format('The feed clock is not raised past %s (2^62).', 1::bigint << 62),
                  HINT = 'Find the event or feed checkpoint with this feed_tx; it did not come from a real clock.';
    END IF;
    v_need := moved_feed_tx - pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint + 1;
    SELECT c.xid_offset INTO v_offset FROM angzarr.feed_clock c;
    -- Usually nothing to do (a restore of rows from a cluster behind this one, or a raise that
    -- an earlier transaction already made): no lock. O only grows, so a stale read errs safe.
    IF v_offset >= v_need AND NOT EXISTS (
        SELECT FROM angzarr.events_global_position_seq s
         WHERE CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END < moved_position) THEN
        RETURN v_offset;
    END IF;
    LOCK TABLE angzarr.events IN SHARE MODE;
    -- A new statement takes a new snapshot (READ COMMITTED): the oldest id running now.
    v_need := moved_feed_tx - pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint + 1;
    -- The clock's guard drops rows applied by logical replication, except this raise.
    PERFORM pg_catalog.set_config('angzarr._raising_feed_clock', 'on', true);
    INSERT INTO angzarr.feed_clock AS c (xid_offset) VALUES (greatest(v_need, 0))
        ON CONFLICT (singleton) DO UPDATE SET xid_offset = excluded.xid_offset
         WHERE c.xid_offset < excluded.xid_offset;
    PERFORM pg_catalog.set_config('angzarr._raising_feed_clock', 'off', true);
    -- Logical replication does not carry the position counter, and a restore may set it after
    -- the events: never hand out a position that a moved row holds.
    PERFORM pg_catalog.setval('angzarr.events_global_position_seq', moved_position)
       FROM angzarr.events_global_position_seq s
      WHERE CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END < moved_position;
    SELECT c.xid_offset INTO v_offset FROM angzarr.feed_clock c;
    RETURN v_offset;
END
$$;
COMMENT ON FUNCTION angzarr._advance_feed_clock(bigint, bigint) IS
    'Internal: raises the feed clock and the position counter past rows moved in from another cluster.';

-- For operators: raises the feed clock past every stored event and feed checkpoint, and past
-- at_least (a checkpoint a consumer keeps outside this database), and the position counter past
-- every stored position. Restores and logical replication do this by themselves; this is for
-- checkpoints kept elsewhere, or rows loaded with triggers disabled. Harmless to repeat. It
-- trusts every stored checkpoint, also ones saved with save_feed_position() (which never move
-- the clock by themselves); feed_tx beyond 2^62 is refused (22003).
CREATE FUNCTION angzarr.advance_feed_clock(at_least bigint DEFAULT 0)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF at_least IS NULL OR at_least < 0 THEN
        RAISE EXCEPTION 'at_least % is invalid', coalesce(at_least::text, 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'Pass the largest feed_tx a consumer outside the database has checkpointed, or 0.';
    END IF;
    RETURN angzarr._advance_feed_clock(
        greatest(at_least, (SELECT max(e.feed_tx) FROM angzarr.events e),
                 (SELECT max(p.feed_tx) FROM angzarr.feed_positions p)),
        coalesce((SELECT max(e.global_position) FROM angzarr.events e), 0));
END
$$;
COMMENT ON FUNCTION angzarr.advance_feed_clock(bigint) IS
    'Raises the feed clock past every stored event and checkpoint and past at_least; returns the offset. Restores and logical replication need no call.';

-- The feed is complete below this checkpoint: every event that will ever sort before it is
-- committed and visible now. A filtered reader that calls this BEFORE read_feed() may move its
-- checkpoint up to it when read_feed() returned fewer rows than asked for. It is the snapshot's
-- xmin on the feed clock (plus the offset that snapshot sees; see angzarr.feed_clock).
CREATE OR REPLACE FUNCTION angzarr.feed_horizon(OUT feed_tx bigint, OUT global_position bigint)
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
-- A plain SQL function, so it inlines.
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
    SELECT e.feed_tx, e.global_position, e.domain, e.edition, e.root, e.sequence, e.event_type,
           e.payload, e.correlation_id, e.created_at, e.id
      FROM angzarr.events e
     WHERE (e.feed_tx, e.global_position) > ($1, $2)
       AND e.feed_tx < (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + c.xid_offset
                          FROM angzarr.feed_clock c)
       AND ($4 IS NULL OR e.domain = ANY ($4))
       AND ($5 IS NULL OR e.edition = ANY (ARRAY(SELECT angzarr._edition(x) FROM unnest($5) x)))
       AND ($6 IS NULL OR e.event_type = ANY ($6))
       AND ($8 = 1 OR angzarr._feed_member(e.domain, e.edition, e.root, $8) = $7)
     ORDER BY e.feed_tx, e.global_position
     -- The arguments are checked here: LIMIT is evaluated before any row is read.
     LIMIT CASE WHEN angzarr._check_feed_read($1, $2, $3, $7, $8) THEN $3 END;
END;
COMMENT ON FUNCTION angzarr.read_feed(bigint, bigint, bigint, text[], text[], text[], integer, integer) IS
    'Reads committed events after the checkpoint (after_feed_tx, after_position) in global feed order, at most max_count; resume from the last row''s (feed_tx, global_position).';

-- How far the feed is held back and by whom: readers only see events below the oldest running
-- transaction id of the whole cluster (on the feed clock, see angzarr.feed_clock), so one long
-- transaction (in any database, prepared ones included) delays everything committed after it
-- started writing.
CREATE OR REPLACE FUNCTION angzarr.feed_lag(
    OUT horizon_feed_tx bigint,
    OUT held_back_events bigint,
    OUT oldest_xact_pid integer,
    OUT oldest_xact_database name,
    OUT oldest_xact_state text,
    OUT oldest_xact_age interval,
    OUT oldest_xact_prepared_gid text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    -- pg_stat_activity is cached for the rest of a transaction; look at the current state.
    SELECT pg_stat_clear_snapshot();
    WITH h AS (SELECT x.xmin, x.xmin::text::bigint + c.xid_offset AS horizon
                 FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) x, angzarr.feed_clock c),
    holder AS (
        SELECT a.pid, a.datname, a.state, clock_timestamp() - a.xact_start AS age, NULL::text AS gid
          FROM pg_stat_activity a, h
         WHERE a.backend_xid = h.xmin::xid
        UNION ALL
        SELECT NULL, p.database, 'prepared', clock_timestamp() - p.prepared, p.gid
          FROM pg_prepared_xacts p, h
         WHERE p.transaction = h.xmin::xid)
    SELECT h.horizon,
           (SELECT count(*) FROM angzarr.events e WHERE e.feed_tx >= h.horizon),
           o.pid, o.datname, o.state, o.age, o.gid
      FROM h LEFT JOIN LATERAL (SELECT * FROM holder LIMIT 1) o ON true
$$;
COMMENT ON FUNCTION angzarr.feed_lag() IS
    'Feed lag: the horizon, committed events readers cannot see yet, and the transaction holding them back (pid, database, state, age, prepared gid).';

-- The checkpoint trigger's function (Rust, src/feed_clock.rs).
CREATE FUNCTION angzarr."_feed_positions_note_moved"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', '_feed_positions_note_moved_wrapper';

-- Logical replication's apply worker runs with session_replication_role = replica, where only
-- ALWAYS triggers fire. Replicated events must take the trigger's restore path (kept verbatim,
-- feed clock raised past them), so the sequence trigger fires always. The events' other triggers
-- keep their default.
ALTER TABLE angzarr.events ENABLE ALWAYS TRIGGER events_assign_sequence;

-- Feed checkpoints written directly (restored, replicated, or by an operator) may come from
-- another cluster's clock; this notes them so the clock is raised past them before commit.
-- Checkpoints saved through angzarr.save_feed_position() are left alone (src/feed_clock.rs).
CREATE TRIGGER feed_positions_note_moved
    BEFORE INSERT OR UPDATE ON angzarr.feed_positions
    FOR EACH ROW EXECUTE FUNCTION angzarr._feed_positions_note_moved();
ALTER TABLE angzarr.feed_positions ENABLE ALWAYS TRIGGER feed_positions_note_moved;
COMMENT ON FUNCTION angzarr._feed_positions_note_moved() IS
    'Trigger: notes a feed checkpoint written directly (restored or replicated) so the feed clock is raised past it.';

-- The clock is this cluster's own. A publication FOR ALL TABLES also carries the source's clock
-- row, relative to the source's transaction ids: rows applied by logical replication (replica
-- mode) are dropped here, except the raise this database makes itself. And it never goes back:
-- a lower offset would let new writers sort below events readers have passed.
CREATE FUNCTION angzarr._feed_clock_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.current_setting('session_replication_role') = 'replica'
       AND pg_catalog.current_setting('angzarr._raising_feed_clock', true) IS DISTINCT FROM 'on' THEN
        RETURN NULL;
    END IF;
    -- (An insert beside the one row fails its primary key.)
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.xid_offset < OLD.xid_offset) THEN
        RAISE EXCEPTION 'the feed clock only moves forward'
            USING ERRCODE = '55000',
                  DETAIL = pg_catalog.format('%s of angzarr.feed_clock refused.', TG_OP),
                  HINT = 'Raise it with angzarr.advance_feed_clock(); it is never lowered or removed.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION angzarr._feed_clock_guard() IS
    'Trigger: keeps angzarr.feed_clock local to this cluster and only moving forward.';
CREATE TRIGGER feed_clock_guard
    BEFORE INSERT OR UPDATE OR DELETE ON angzarr.feed_clock
    FOR EACH ROW EXECUTE FUNCTION angzarr._feed_clock_guard();
ALTER TABLE angzarr.feed_clock ENABLE ALWAYS TRIGGER feed_clock_guard;

-- Grants, as sql/roles.sql gives them on a fresh install.
REVOKE ALL ON FUNCTION angzarr._advance_feed_clock(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION angzarr.advance_feed_clock(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION angzarr._feed_positions_note_moved() FROM PUBLIC;
REVOKE ALL ON FUNCTION angzarr._feed_clock_guard() FROM PUBLIC;
ALTER FUNCTION angzarr._advance_feed_clock(bigint, bigint) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION angzarr.advance_feed_clock(bigint) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
GRANT EXECUTE ON FUNCTION angzarr.advance_feed_clock(bigint) TO angzarr_admin;
GRANT SELECT ON angzarr.feed_clock TO angzarr_reader;
-- Feed clock (end).
-- ---------------------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------------------------
-- API: one argument order (CONTRIBUTING.md, "Changing SQL"): domain, root, the required
-- arguments, then edition as the first optional argument, then the other optional ones.
-- read_stream, get_snapshot, put_snapshot, get_position and save_position change order (the
-- positions functions take handler after root, so it cannot be swapped with domain).
-- Positional callers of these must follow; calls with named arguments keep working.
-- read_stream: the new signature is created first, the functions that read through it are
-- pointed at it (CREATE OR REPLACE keeps their grants), then the old one goes.
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
REVOKE ALL ON FUNCTION angzarr.read_stream(text, uuid, text, bigint, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.read_stream(text, uuid, text, bigint, bigint, bigint) TO angzarr_reader;

-- The aggregate's history up to and including `as_of_sequence`: the state it had right after
-- that event.
CREATE OR REPLACE FUNCTION angzarr.read_as_of_sequence(
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
CREATE OR REPLACE FUNCTION angzarr.read_as_of_time(
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

-- Everything needed to rebuild an aggregate, from one consistent read: its newest usable
-- snapshot (kind 'snapshot', the state after events 0..sequence), then the events after it
-- (kind 'event'), in sequence order. Without a snapshot (or with use_snapshot => false) the
-- events start at 0. On a named edition a main snapshot below the divergence point is usable
-- too, since that history is shared.
CREATE OR REPLACE FUNCTION angzarr.load_aggregate(
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

-- One aggregate's history, readable, as the edition sees it (composite on named editions).
CREATE OR REPLACE FUNCTION angzarr.show_stream(domain text, root uuid, edition text DEFAULT 'angzarr')
RETURNS TABLE (
    sequence bigint,
    event_type text,
    created_at timestamptz,
    correlation_id text,
    payload text,
    stored_in text)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT s.sequence, s.event_type, s.created_at, s.correlation_id,
           angzarr._payload_text(s.payload), s.edition
      FROM angzarr.read_stream($1, $2, $3) s
     ORDER BY s.sequence;
END;
COMMENT ON FUNCTION angzarr.show_stream(text, uuid, text) IS
    'One aggregate''s events for reading in psql: payload as JSON or its size; stored_in tells main from edition events.';
DROP FUNCTION angzarr.read_stream(text, uuid, bigint, bigint, bigint, text);

DROP FUNCTION angzarr.put_snapshot(text, uuid, bigint, bytea, angzarr.snapshot_retention, text, text);
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
ALTER FUNCTION angzarr.put_snapshot(text, uuid, bigint, bytea, text, angzarr.snapshot_retention, text)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION angzarr.put_snapshot(text, uuid, bigint, bytea, text, angzarr.snapshot_retention, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.put_snapshot(text, uuid, bigint, bytea, text, angzarr.snapshot_retention, text) TO angzarr_writer;

DROP FUNCTION angzarr.get_snapshot(text, uuid, bigint, text);
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
REVOKE ALL ON FUNCTION angzarr.get_snapshot(text, uuid, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.get_snapshot(text, uuid, text, bigint) TO angzarr_reader;

DROP FUNCTION angzarr.save_position(text, text, uuid, bigint, text);
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
ALTER FUNCTION angzarr.save_position(text, uuid, text, bigint, text)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION angzarr.save_position(text, uuid, text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.save_position(text, uuid, text, bigint, text) TO angzarr_writer;

DROP FUNCTION angzarr.get_position(text, text, uuid, text);
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
REVOKE ALL ON FUNCTION angzarr.get_position(text, uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.get_position(text, uuid, text, text) TO angzarr_reader;

-- API: list_roots(domain, edition) lists the roots with events of their own in the edition, as
-- angzarr's backends do (a discarded or misspelt edition has none); inherited => true gives
-- 0.1.0's view, which adds the main roots a named edition shares.
DROP FUNCTION angzarr.list_roots(text, text);
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
REVOKE ALL ON FUNCTION angzarr.list_roots(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.list_roots(text, text, boolean) TO angzarr_reader;

-- API: read_correlation returns correlation_id like every other event-returning function; its
-- argument is renamed correlation (a parameter cannot share a result column's name).
-- read_correlation_books reads through it and is re-created unchanged.
DROP FUNCTION angzarr.read_correlation_books(text);
DROP FUNCTION angzarr.read_correlation(text);
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
-- angzarr's get_by_correlation: one encoded EventBook per aggregate that has events with the
-- correlation id (cover.correlation_id set), ordered by domain, edition, root.
CREATE FUNCTION angzarr.read_correlation_books(correlation_id text)
RETURNS SETOF bytea
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT angzarr._encode_event_book(
               c.domain, c.edition, c.root, max(c.sequence) + 1,
               array_agg(c.sequence ORDER BY c.sequence), array_agg(c.event_type ORDER BY c.sequence),
               array_agg(c.payload ORDER BY c.sequence), array_agg(c.created_at ORDER BY c.sequence),
               correlation_id => $1)
      FROM angzarr.read_correlation($1) c
     GROUP BY c.domain, c.edition, c.root
     ORDER BY c.domain, c.edition, c.root;
END;
COMMENT ON FUNCTION angzarr.read_correlation_books(text) IS
    'All events with a correlation id as encoded EventBooks, one per aggregate.';
REVOKE ALL ON FUNCTION angzarr.read_correlation(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION angzarr.read_correlation_books(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION angzarr.read_correlation(text) TO angzarr_reader;
GRANT EXECUTE ON FUNCTION angzarr.read_correlation_books(text) TO angzarr_reader;

-- API: create_edition on an existing edition adds divergence points for domains it has none
-- for (repeating one is a no-op); changing a point or diverged_at is refused (23505), a point
-- for a domain with events in the edition too (55000). It takes the edition's lock before it
-- reads the definition. CREATE OR REPLACE drops SECURITY DEFINER, so it is set again.
-- Names an edition and pins where it diverges from main: per domain at a sequence
-- (divergences => '{"player": 5}': main events 0..4 of every player aggregate are shared), or
-- at a time (main events created before diverged_at are shared). When both apply, the earlier
-- point wins. An edition used without being created diverges implicitly at each aggregate's
-- first own event. Called again for an existing edition it adds the divergence points of
-- domains the edition has none for yet: repeating a point already there is a no-op, changing
-- one (or diverged_at) is refused (23505). A point for a domain that already has events in
-- the edition, or a diverged_at for an edition with events, is refused (55000): those events'
-- sequences were computed without it. The edition's lock comes first: appends that start an
-- aggregate's history in a named edition hold it in share mode, so such an append either
-- finished before (and is counted) or waits and then reads the new points.
CREATE OR REPLACE FUNCTION angzarr.create_edition(
    name text,
    divergences jsonb DEFAULT NULL,
    diverged_at timestamptz DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_name text;
    v_bad record;
    v_events bigint;
    v_visible bigint;
    v_existing record;
BEGIN
    IF angzarr._edition(create_edition.name) = 'angzarr' THEN
        RAISE EXCEPTION 'the main edition "angzarr" is protected'
            USING ERRCODE = 'ZA003',
                  DETAIL = format('create_edition(%s) names the main timeline; NULL and '''' mean main too.',
                                  coalesce(quote_literal(create_edition.name), 'NULL')),
                  HINT = 'Pick another name for the edition.';
    END IF;
    v_name := angzarr._check_edition(create_edition.name);
    IF divergences IS NOT NULL AND jsonb_typeof(divergences) <> 'object' THEN
        RAISE EXCEPTION 'divergences must be a JSON object, got %', jsonb_typeof(divergences)
            USING ERRCODE = '22023', HINT = 'Pass a sequence per domain, e.g. ''{"player": 5}''.';
    END IF;
    SELECT d.key, d.value INTO v_bad
      FROM jsonb_each(coalesce(divergences, '{}')) d
     WHERE CASE WHEN jsonb_typeof(d.value) <> 'number' THEN true
                ELSE d.value::numeric < 0 OR d.value::numeric <> trunc(d.value::numeric)
                     OR d.value::numeric > 9223372036854775807 END
     ORDER BY d.key LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'divergence of domain "%" must be a sequence (an integer, 0 or more), got %',
            v_bad.key, v_bad.value
            USING ERRCODE = '22023', HINT = 'Pass a sequence per domain, e.g. ''{"player": 5}''.';
    END IF;
    PERFORM angzarr._check_domain(d.key) FROM jsonb_each(coalesce(divergences, '{}')) d;
    -- The lock before any read of the edition's definition or events. The count is taken
    -- through a snapshot newer than the lock, so it includes what an append committed while
    -- this call waited, also under REPEATABLE READ.
    v_events := angzarr._lock_edition(v_name);
    SELECT e.name, e.diverged_at INTO v_existing FROM angzarr.editions e WHERE e.name = v_name;
    -- An existing definition only grows: a point that differs from the stored one is refused.
    SELECT d.key, d.value, x.sequence AS stored INTO v_bad
      FROM jsonb_each(coalesce(divergences, '{}')) d
      JOIN angzarr.edition_divergences x ON x.edition = v_name AND x.domain = d.key
     WHERE x.sequence <> d.value::numeric
     ORDER BY d.key LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'edition "%" already diverges in domain "%" at sequence %',
            v_name, v_bad.key, v_bad.stored
            USING ERRCODE = '23505',
                  DETAIL = format('create_edition() asked for sequence %s; a divergence point, once set, does not change.',
                                  v_bad.value),
                  HINT = 'Use another edition name, or discard this edition and create it again.';
    END IF;
    IF v_existing.name IS NOT NULL AND create_edition.diverged_at IS NOT NULL
       AND v_existing.diverged_at IS DISTINCT FROM create_edition.diverged_at THEN
        RAISE EXCEPTION 'edition "%" already exists with diverged_at %', v_name,
            coalesce(v_existing.diverged_at::text, 'NULL')
            USING ERRCODE = '23505',
                  DETAIL = format('create_edition() asked for diverged_at %s; it applies to every domain and does not change.',
                                  create_edition.diverged_at),
                  HINT = 'Add per-domain divergences instead, or discard this edition and create it again.';
    END IF;
    IF v_events > 0 THEN
        -- Which domains have events decides what may still be added; a snapshot older than the
        -- lock (REPEATABLE READ) may miss some, and then nothing is decided from it.
        SELECT coalesce(sum((SELECT count(*) FROM angzarr.events e
                              WHERE e.domain = p.domain AND e.edition = p.edition)), 0)
          INTO v_visible
          FROM angzarr._stored_domain_editions() p WHERE p.edition = v_name;
        IF v_visible < v_events THEN
            RAISE EXCEPTION 'could not serialize access to edition "%" due to concurrent appends', v_name
                USING ERRCODE = '40001',
                      DETAIL = format('The edition holds %s events, %s of them visible to this transaction''s snapshot (%s).',
                                      v_events, v_visible, current_setting('transaction_isolation')),
                      HINT = 'Retry the transaction, or define editions under READ COMMITTED.';
        END IF;
        SELECT d.key, count(*) AS events INTO v_bad
          FROM jsonb_each(coalesce(divergences, '{}')) d
          JOIN angzarr.events e ON e.domain = d.key AND e.edition = v_name
         WHERE NOT EXISTS (SELECT 1 FROM angzarr.edition_divergences x
                            WHERE x.edition = v_name AND x.domain = d.key)
         GROUP BY d.key ORDER BY d.key LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'edition "%" already has events in domain "%"', v_name, v_bad.key
                USING ERRCODE = '55000',
                      DETAIL = format('%s events of that domain are stored in it; each of its aggregates diverged implicitly at its first own event.',
                                      v_bad.events),
                      HINT = 'Create editions and their divergence points before writing to them, or discard this one first.';
        END IF;
        IF create_edition.diverged_at IS NOT NULL AND v_existing.name IS NULL THEN
            RAISE EXCEPTION 'edition "%" already has events', v_name
                USING ERRCODE = '55000',
                      DETAIL = format('%s events are stored in it; diverged_at would move where they diverged.', v_events),
                      HINT = 'Create editions before writing to them, or discard this one first.';
        END IF;
    END IF;
    IF v_existing.name IS NULL THEN
        INSERT INTO angzarr.editions (name, diverged_at) VALUES (v_name, create_edition.diverged_at);
    END IF;
    INSERT INTO angzarr.edition_divergences AS x (edition, domain, sequence)
    SELECT v_name, d.key, d.value::numeric::bigint FROM jsonb_each(coalesce(divergences, '{}')) d
    ON CONFLICT (edition, domain) DO NOTHING;
END
$$;
COMMENT ON FUNCTION angzarr.create_edition(text, jsonb, timestamptz) IS
    'Creates a named edition, or adds divergence points for domains it has none for yet: a sequence per domain ({"player": 5}) or a time.';
ALTER FUNCTION angzarr.create_edition(text, jsonb, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- API: _encode_event_book encodes a NULL sequence as a page without a header sequence (it
-- continues the aggregate when appended: no expectation) instead of sequence 0, and accepts a
-- NULL next_sequence for a book that is a batch to append (the code is in the library).
COMMENT ON FUNCTION angzarr._encode_event_book(text, text, uuid, bigint, bigint[], text[], bytea[],
        timestamptz[], bigint, text, bytea, text, text, text[], bigint[]) IS
    'Internal: encodes an aggregate''s history or a batch to append (parallel arrays plus optional snapshot) as an EventBook; a NULL sequence is a page without one.';
-- End of the API block.
