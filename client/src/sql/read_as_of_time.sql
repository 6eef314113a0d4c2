-- The aggregate's history as it stood at a time.
SELECT sequence, event_type, payload, correlation_id, created_at, id, edition, global_position
  FROM angzarr.read_as_of_time(domain => $1, root => $2, as_of_time => $3, edition => $4)
