-- Access control: three NOLOGIN group roles, each a strict superset of the one before.
--   angzarr_reader  reads events (tables, read functions, the feed)
--   angzarr_writer  + appends, consumer positions, snapshots
--   angzarr_admin   + discards editions, runs the integrity check
-- Roles are cluster-wide while an extension lives in one database, so this script creates a
-- role only when it is missing and never drops one: a second database that installs the
-- extension reuses the same roles, and DROP EXTENSION leaves them for the other databases.
-- Grant them to login roles: GRANT angzarr_writer TO app_service;
-- This file runs last (finalize), so it sees every function the other files defined.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['angzarr_reader', 'angzarr_writer', 'angzarr_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- Membership makes each role include the rights of the one before it.
    IF NOT pg_catalog.pg_has_role('angzarr_writer', 'angzarr_reader', 'MEMBER') THEN
        GRANT angzarr_reader TO angzarr_writer;
    END IF;
    IF NOT pg_catalog.pg_has_role('angzarr_admin', 'angzarr_writer', 'MEMBER') THEN
        GRANT angzarr_writer TO angzarr_admin;
    END IF;
END
$roles$;

-- Deny by default: nothing in the schema is executable by PUBLIC; the grants below are the
-- whole list. A function added without a line here is callable by superusers only, and the
-- pg_regress test `privileges` prints every function's roles, so it shows up in review.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA angzarr FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA angzarr FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA angzarr FROM PUBLIC;
GRANT USAGE ON SCHEMA angzarr TO angzarr_reader;

-- Readers see every table (read_stream and friends are inlined SQL that runs as the caller;
-- read_feed() and feed_horizon() read the feed clock offset, angzarr.feed_clock).
GRANT SELECT ON ALL TABLES IN SCHEMA angzarr TO angzarr_reader;

-- Writers insert events (append_events() and append_event_book() run as the caller), but only
-- the columns an append sets: sequence is checked by the trigger (it must be exactly the next
-- one); created_at because EventBook pages carry their own time; global_position and feed_tx
-- are the trigger's alone (a row that carries them is a restored row, kept verbatim); id because
-- a client may name its events to retry them one by one (a row ON CONFLICT DO NOTHING skips
-- gives its sequence back). USAGE on the position counter lets the trigger draw positions as the writer;
-- without UPDATE nobody but the owner can setval() it backwards.
GRANT INSERT (sequence, domain, edition, root, event_type, payload, correlation_id, idempotency_key, created_at, id)
    ON angzarr.events TO angzarr_writer;
GRANT USAGE ON SEQUENCE angzarr.events_global_position_seq TO angzarr_writer;
-- Reading the counter (how far the feed has got) is harmless; check_integrity() compares it.
GRANT SELECT ON ALL SEQUENCES IN SCHEMA angzarr TO angzarr_reader;

-- Consumer positions, snapshots, feed checkpoints and editions are written only through their
-- functions, which keep their rules (positions never move back, no snapshot beyond the last
-- event, only discard_edition() deletes events). Those functions run with the owner's rights
-- (SECURITY DEFINER), so no role needs to write these tables directly; each pins its
-- search_path, so nothing the caller put in a schema can stand in for what they call.
DO $elevate$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::pg_catalog.regprocedure AS fn
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'angzarr'::pg_catalog.regnamespace
           AND p.proname IN ('save_position', 'reset_positions', 'save_feed_position', 'put_snapshot',
                             'delete_snapshots', 'create_edition', 'discard_edition',
                             -- The feed clock (angzarr.feed_clock) is written only through these.
                             'advance_feed_clock', '_advance_feed_clock')
    LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, pg_temp', f.fn);
    END LOOP;
END
$elevate$;

-- Function grants by role. Names not defined (yet) are skipped; every overload of a name gets
-- the grant. Trigger functions are absent on purpose: PostgreSQL checks EXECUTE on them only
-- when a trigger is created, and nobody but the owner may create triggers on these tables.
DO $grants$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT p.oid::pg_catalog.regprocedure AS fn, x.grantee
          FROM (VALUES
                -- Reading: one aggregate, its history as of a point, the global feed,
                -- editions, correlations, snapshots, positions; the helpers they call.
                ('read_stream', 'angzarr_reader'),
                ('read_as_of_sequence', 'angzarr_reader'),
                ('read_as_of_time', 'angzarr_reader'),
                ('load_aggregate', 'angzarr_reader'),
                ('show_stream', 'angzarr_reader'),
                ('next_sequence', 'angzarr_reader'),
                ('list_domains', 'angzarr_reader'),
                ('list_roots', 'angzarr_reader'),
                ('list_editions', 'angzarr_reader'),
                ('read_correlation', 'angzarr_reader'),
                ('read_event_book', 'angzarr_reader'),
                ('read_correlation_books', 'angzarr_reader'),
                ('event_book_to_json', 'angzarr_reader'),
                ('read_feed', 'angzarr_reader'),
                ('feed_horizon', 'angzarr_reader'),
                ('feed_member', 'angzarr_reader'),
                ('feed_lag', 'angzarr_reader'),
                ('get_feed_position', 'angzarr_reader'),
                ('get_position', 'angzarr_reader'),
                ('get_snapshot', 'angzarr_reader'),
                ('payload_json', 'angzarr_reader'),
                ('aggregate_lock_key', 'angzarr_reader'),
                ('_edition', 'angzarr_reader'),
                ('_check_domain', 'angzarr_reader'),
                ('_check_edition', 'angzarr_reader'),
                ('_check_range', 'angzarr_reader'),
                ('_check_as_of', 'angzarr_reader'),
                ('_check_feed_read', 'angzarr_reader'),
                ('_divergence_sequence', 'angzarr_reader'),
                ('_stored_domain_editions', 'angzarr_reader'),
                ('_stored_roots', 'angzarr_reader'),
                ('_feed_member', 'angzarr_reader'),
                ('_payload_text', 'angzarr_reader'),
                ('_encode_event_book', 'angzarr_reader'),
                ('_decode_event_book', 'angzarr_reader'),
                ('_snapshot_superseded', 'angzarr_reader'),
                -- Writing: appends, consumer checkpoints, snapshots, new editions.
                ('append_events', 'angzarr_writer'),
                ('append_event_book', 'angzarr_writer'),
                ('_lock_aggregate', 'angzarr_writer'),
                ('_expect_next_sequence', 'angzarr_writer'),
                ('_check_next_sequence', 'angzarr_writer'),
                ('_idempotent_range', 'angzarr_writer'),
                ('_edition_first_sequence', 'angzarr_writer'),
                ('save_position', 'angzarr_writer'),
                ('reset_positions', 'angzarr_writer'),
                ('save_feed_position', 'angzarr_writer'),
                ('put_snapshot', 'angzarr_writer'),
                ('delete_snapshots', 'angzarr_writer'),
                ('create_edition', 'angzarr_writer'),
                -- Destructive or expensive operations.
                ('discard_edition', 'angzarr_admin'),
                ('check_integrity', 'angzarr_admin'),
                ('feed_group_index_sql', 'angzarr_admin'),
                -- Raising the feed clock by hand (checkpoints kept outside the database). Its
                -- helper _advance_feed_clock is for the append path, run by whoever restores
                -- rows (superusers, the subscription owner): no grant.
                ('advance_feed_clock', 'angzarr_admin')
               ) AS x(name, grantee)
          JOIN pg_catalog.pg_proc p
            ON p.proname = x.name AND p.pronamespace = 'angzarr'::pg_catalog.regnamespace
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', g.fn, g.grantee);
    END LOOP;
END
$grants$;
