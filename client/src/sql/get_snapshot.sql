-- The newest snapshot of an aggregate, or the newest at or below a sequence.
SELECT sequence, state, state_type, retention::text AS retention, created_at
  FROM angzarr.get_snapshot(domain => $1, root => $2, max_sequence => $3, edition => $4)
