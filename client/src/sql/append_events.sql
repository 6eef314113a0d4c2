-- One batch to one aggregate; the function checks the expected sequence and idempotency key.
-- Named arguments, so the call does not depend on the function's argument order.
SELECT first_sequence, last_sequence
  FROM angzarr.append_events(domain => $1, root => $2, event_types => $3::text[], payloads => $4::bytea[],
                             expected_sequence => $5, edition => $6, correlation_id => $7,
                             idempotency_key => $8)
