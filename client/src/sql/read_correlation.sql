-- Every event of one business process, grouped per aggregate in sequence order.
SELECT domain, edition, root, sequence, event_type, payload, correlation_id,
       created_at, id, global_position
  FROM angzarr.read_correlation(correlation => $1)
