-- Every stored event of the drill, to compare with what the writers were told.
SELECT root, sequence, idempotency_key, id
  FROM angzarr.events
 WHERE domain = 'drill'
 ORDER BY root, sequence
