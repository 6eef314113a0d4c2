-- One aggregate's events for people: payload as JSON text or its size.
SELECT sequence, event_type, created_at, correlation_id, payload, stored_in
  FROM angzarr.show_stream(domain => $1, root => $2, edition => $3)
