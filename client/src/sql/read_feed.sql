-- One page of the global feed after a checkpoint, filtered.
SELECT feed_tx, global_position, domain, edition, root, sequence, event_type, payload,
       correlation_id, created_at, id
  FROM angzarr.read_feed(after_feed_tx => $1, after_position => $2, max_count => $3,
                         domains => $4::text[], editions => $5::text[], event_types => $6::text[],
                         member => $7, members => $8)
