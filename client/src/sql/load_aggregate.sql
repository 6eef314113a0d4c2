-- The newest usable snapshot, then the events after it, from one consistent read.
SELECT kind, sequence, type, data, correlation_id, created_at, retention::text AS retention
  FROM angzarr.load_aggregate($1, $2, $3, $4)
