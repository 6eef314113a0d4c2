-- One page of an aggregate: [from, to), at most max_count events.
SELECT sequence, event_type, payload, correlation_id, created_at, id, edition, global_position
  FROM angzarr.read_stream(domain => $1, root => $2, from_sequence => $3, to_sequence => $4,
                           max_count => $5, edition => $6)
