-- One page of an aggregate: [from, to), at most max_count events.
SELECT sequence, event_type, payload, correlation_id, created_at, id, edition, global_position
  FROM angzarr.read_stream($1, $2, $3, $4, $5, $6)
