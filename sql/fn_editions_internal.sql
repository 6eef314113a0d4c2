-- The first sequence of `root` that belongs to `edition` itself; main's events below it are
-- part of the edition's history. NULL on main, or when nothing pins it yet (then the edition
-- sees all of main's history). Explicit points win over the implicit one (first own event).
CREATE FUNCTION angzarr._divergence_sequence(domain text, edition text, root uuid)
RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN $2 = 'angzarr' THEN NULL ELSE
        least(
            (SELECT min(e.sequence) FROM angzarr.events e
              WHERE e.domain = $1 AND e.edition = $2 AND e.root = $3),
            (SELECT d.sequence FROM angzarr.edition_divergences d
              WHERE d.edition = $2 AND d.domain = $1),
            (SELECT coalesce((SELECT max(m.sequence) + 1 FROM angzarr.events m
                               WHERE m.domain = $1 AND m.edition = 'angzarr' AND m.root = $3
                                 AND m.created_at < ed.diverged_at), 0)
               FROM angzarr.editions ed
              WHERE ed.name = $2 AND ed.diverged_at IS NOT NULL))
    END;
END;
COMMENT ON FUNCTION angzarr._divergence_sequence(text, text, uuid) IS
    'Internal: where an edition''s own history of an aggregate starts.';

-- Stored spelling of an edition name: NULL and '' mean the main timeline.
CREATE FUNCTION angzarr._edition(edition text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(nullif($1, ''), 'angzarr');
END;
COMMENT ON FUNCTION angzarr._edition(text) IS
    'Internal: normalises an edition name (NULL and empty mean main).';

-- Where an aggregate's first own event in a named edition goes: right after main's events
-- that belong to the edition. The trigger calls it (once per aggregate per transaction) for a
-- named edition with no own events yet; a SQL-standard body keeps its operators fixed.
CREATE FUNCTION angzarr._edition_first_sequence(domain text, edition text, root uuid)
RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT least(
        angzarr._divergence_sequence($1, $2, $3),
        (SELECT coalesce(max(m.sequence) + 1, 0) FROM angzarr.events m
          WHERE m.domain = $1 AND m.edition = 'angzarr' AND m.root = $3));
END;
COMMENT ON FUNCTION angzarr._edition_first_sequence(text, text, uuid) IS
    'Internal: the first sequence of an aggregate in a named edition that has no own events yet.';
