-- Scans the whole store for what the trigger and constraints should make impossible: gaps and
-- duplicates in an aggregate's sequences (on a named edition, also a hole between the main
-- events it shares and its own), feed positions that go backwards inside an aggregate or
-- repeat, and a position counter behind the stored positions (after a bad restore it would
-- hand out positions again). Returns one row per problem, nothing on healthy data. Run it after
-- a restore, an upgrade, or anything done with session_replication_role = replica.
-- Reads with sequential scans, so a corrupt index cannot hide a duplicate from it.
CREATE FUNCTION angzarr.check_integrity()
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
