-- The newest snapshot of an aggregate, or the newest at or below a sequence.
SELECT sequence, state, state_type, retention::text AS retention, created_at
  FROM angzarr.get_snapshot($1, $2, $3, $4)
