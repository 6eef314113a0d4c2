-- Many aggregates in one statement; the trigger assigns sequences and checks the expectations
-- set just before. Rows arrive sorted by (domain, edition, root) so lock order is consistent.
INSERT INTO angzarr.events (domain, edition, root, event_type, payload, correlation_id)
SELECT u.domain, u.edition, u.root, u.event_type, u.payload, u.correlation_id
  FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::bytea[], $6::text[])
       WITH ORDINALITY AS u(domain, edition, root, event_type, payload, correlation_id, n)
 ORDER BY u.n
RETURNING domain, edition, root, sequence
