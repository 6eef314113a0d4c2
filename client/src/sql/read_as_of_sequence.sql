-- The aggregate's history up to and including a sequence.
SELECT sequence, event_type, payload, correlation_id, created_at, id, edition, global_position
  FROM angzarr.read_as_of_sequence(domain => $1, root => $2, as_of_sequence => $3, edition => $4)
