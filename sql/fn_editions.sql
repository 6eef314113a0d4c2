-- Takes an edition's lock before its definition changes (create_edition, discard_edition). The
-- events trigger takes the same lock in shared mode when it appends an aggregate's first own
-- event in a named edition, the one append that reads divergence points, so a definition and
-- those appends never interleave. Under READ COMMITTED the caller's next statement sees
-- everything committed before the lock was granted. A REPEATABLE READ or SERIALIZABLE
-- transaction keeps the snapshot it took before the lock, so it cannot see events committed
-- meanwhile: if any transaction its snapshot does not see has committed since, that one may
-- have written to the edition, and the call is refused with 40001 (retry the transaction).
CREATE FUNCTION angzarr._lock_edition_definition(edition text)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_snapshot pg_snapshot;
    v_xid bigint;
    v_committed bigint;
BEGIN
    PERFORM angzarr._lock_edition(edition);
    IF current_setting('transaction_isolation') = 'read committed' THEN
        RETURN;
    END IF;
    v_snapshot := pg_current_snapshot();
    -- Transactions that were running when the snapshot was taken ...
    SELECT x::text::bigint INTO v_committed
      FROM pg_snapshot_xip(v_snapshot) x
     WHERE pg_xact_status(x) = 'committed'
     LIMIT 1;
    -- ... and those that got their id after it, up to the newest id handed out.
    IF v_committed IS NULL THEN
        v_xid := pg_snapshot_xmax(v_snapshot)::text::bigint;
        BEGIN
            LOOP
                IF pg_xact_status(v_xid::text::xid8) = 'committed' THEN
                    v_committed := v_xid;
                    EXIT;
                END IF;
                v_xid := v_xid + 1;
            END LOOP;
        EXCEPTION WHEN invalid_parameter_value THEN
            -- pg_xact_status() refuses an id not handed out yet: every later one is checked.
            NULL;
        END;
    END IF;
    IF v_committed IS NOT NULL THEN
        RAISE EXCEPTION 'could not serialize access to edition "%" due to a concurrent commit', edition
            USING ERRCODE = '40001',
                  DETAIL = format('Transaction %s committed after this transaction''s snapshot was taken (%s isolation); it may have written to the edition.',
                                  v_committed, current_setting('transaction_isolation')),
                  HINT = 'Retry the transaction, or create and discard editions under READ COMMITTED.';
    END IF;
END
$$;
COMMENT ON FUNCTION angzarr._lock_edition_definition(text) IS
    'Internal: locks an edition against appends that read its divergence points; raises 40001 when a transaction snapshot predates commits it cannot see.';

-- Names an edition and, optionally, pins where it diverges from main: per domain at a sequence
-- (divergences => '{"player": 5}': main events 0..4 of every player aggregate are shared), or
-- at a time (main events created before diverged_at are shared). When both apply, the earlier
-- point wins. An edition used without being created diverges implicitly at its first own event.
-- Refused (55000) once the edition has events, including ones committed while it waited for the
-- edition's lock: their sequences were computed without these divergence points.
CREATE FUNCTION angzarr.create_edition(
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
    -- Appends that would start an aggregate in this edition wait from here on; the checks
    -- below run after the lock, in statements of their own, so they see what such an append
    -- committed while this call waited.
    PERFORM angzarr._lock_edition_definition(v_name);
    IF EXISTS (SELECT 1 FROM angzarr.editions e WHERE e.name = v_name) THEN
        RAISE EXCEPTION 'edition "%" already exists', v_name
            USING ERRCODE = '23505', HINT = 'Pick another name, or discard the edition first.';
    END IF;
    SELECT sum((SELECT count(*) FROM angzarr.events e WHERE e.domain = p.domain AND e.edition = v_name))
      INTO v_events
      FROM angzarr._stored_domain_editions() p WHERE p.edition = v_name;
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
COMMENT ON FUNCTION angzarr.create_edition(text, jsonb, timestamptz) IS
    'Creates a named edition, optionally diverging from main at a sequence per domain ({"player": 5}) or at a time.';

-- Throws a what-if timeline away: deletes the edition's events, snapshots, positions and its
-- definition, and returns how many events went. The only deletion angzarr.events allows; the
-- main edition is refused (ZA003). Waits for the edition's writers first (those starting an
-- aggregate in it and those of its existing aggregates), so their in-flight events go too.
CREATE FUNCTION angzarr.discard_edition(name text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_name text := angzarr._edition(discard_edition.name);
    v_deleted bigint;
BEGIN
    IF v_name = 'angzarr' THEN
        RAISE EXCEPTION 'the main edition "angzarr" is protected'
            USING ERRCODE = 'ZA003',
                  DETAIL = format('discard_edition(%s) names the main timeline; NULL and '''' mean main too.',
                                  coalesce(quote_literal(discard_edition.name), 'NULL')),
                  HINT = 'Only named editions can be discarded; main''s history is immutable.';
    END IF;
    -- First keep appends from starting new aggregates in the edition, then wait for the
    -- writers of its existing ones.
    PERFORM angzarr._lock_edition_definition(v_name);
    PERFORM angzarr._lock_aggregate(k.domain, v_name, k.root)
       FROM (SELECT DISTINCT p.domain, r.root
               FROM angzarr._stored_domain_editions() p
              CROSS JOIN LATERAL angzarr._stored_roots(p.domain, p.edition) r
              WHERE p.edition = v_name
              ORDER BY p.domain, r.root) k;
    PERFORM set_config('angzarr._discarding_edition', v_name, true);
    DELETE FROM angzarr.events e
     USING (SELECT p.domain FROM angzarr._stored_domain_editions() p WHERE p.edition = v_name) d
     WHERE e.domain = d.domain AND e.edition = v_name;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    PERFORM set_config('angzarr._discarding_edition', '', true);
    PERFORM angzarr._forget_edition(v_name);
    DELETE FROM angzarr.snapshots s WHERE s.edition = v_name;
    DELETE FROM angzarr.positions p WHERE p.edition = v_name;
    DELETE FROM angzarr.editions e WHERE e.name = v_name;
    RETURN v_deleted;
END
$$;
COMMENT ON FUNCTION angzarr.discard_edition(text) IS
    'Deletes a named edition''s events, snapshots, positions and definition; returns the number of events deleted. Raises ZA003 for main.';

-- The named editions: created ones (with their divergence points) and ones only used by
-- events (implicit divergence). The main timeline 'angzarr' always exists and is not listed.
CREATE FUNCTION angzarr.list_editions()
RETURNS TABLE (
    name text,
    created boolean,
    divergences jsonb,
    diverged_at timestamptz,
    event_count bigint,
    created_at timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
    WITH used AS (
        SELECT p.edition, sum((SELECT count(*) FROM angzarr.events e
                                WHERE e.domain = p.domain AND e.edition = p.edition)) AS events
          FROM angzarr._stored_domain_editions() p
         WHERE p.edition <> 'angzarr'
         GROUP BY p.edition)
    SELECT coalesce(ed.name, u.edition) COLLATE "C",
           ed.name IS NOT NULL,
           (SELECT jsonb_object_agg(d.domain, d.sequence ORDER BY d.domain)
              FROM angzarr.edition_divergences d WHERE d.edition = ed.name),
           ed.diverged_at,
           coalesce(u.events, 0)::bigint,
           ed.created_at
      FROM angzarr.editions ed
      FULL JOIN used u ON u.edition = ed.name
     ORDER BY 1;
END;
COMMENT ON FUNCTION angzarr.list_editions() IS
    'Lists named editions (created or merely used) with their divergence points and event counts.';
