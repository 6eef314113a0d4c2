-- The newest usable snapshot, then the events after it, from one consistent read.
SELECT kind, sequence, type, data, correlation_id, created_at, retention::text AS retention
  FROM angzarr.load_aggregate(domain => $1, root => $2, edition => $3, use_snapshot => $4)
