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
