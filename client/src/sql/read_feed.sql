-- One page of the global feed after a checkpoint, filtered.
SELECT feed_tx, global_position, domain, edition, root, sequence, event_type, payload,
       correlation_id, created_at, id
  FROM angzarr.read_feed($1, $2, $3, $4::text[], $5::text[], $6::text[], $7, $8)
