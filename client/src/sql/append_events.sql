-- One batch to one aggregate; the function checks the expected sequence and idempotency key.
SELECT first_sequence, last_sequence
  FROM angzarr.append_events($1, $2, $3::text[], $4::bytea[], $5, $6, $7, $8)
