-- Names an edition and, optionally, pins where it diverges from main: per domain at a sequence
-- (divergences => '{"player": 5}': main events 0..4 of every player aggregate are shared), or
-- at a time (main events created before diverged_at are shared). When both apply, the earlier
-- point wins. An edition used without being created diverges implicitly at its first own event.
-- Refused (55000) once the edition has events: their sequences were computed without these
-- divergence points. Appends that start an aggregate's history in a named edition hold the
-- edition's lock in share mode; this takes it in exclusive mode before its checks, so such an
-- append either finished before (and is counted) or waits and then reads the new points.
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
COMMENT ON FUNCTION angzarr.create_edition(text, jsonb, timestamptz) IS
    'Creates a named edition, optionally diverging from main at a sequence per domain ({"player": 5}) or at a time.';

-- Throws a what-if timeline away: deletes the edition's events, snapshots, positions and its
-- definition, and returns how many events went. The only deletion angzarr.events allows; the
-- main edition is refused (ZA003). Waits for the edition's writers first (those starting an
-- aggregate in it and those of its existing aggregates), so their in-flight events go too. A
-- REPEATABLE READ snapshot may not see all of them: then it refuses (40001) rather than leave
-- events of a discarded edition behind.
CREATE FUNCTION angzarr.discard_edition(name text)
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
