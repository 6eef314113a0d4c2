-- How far each handler trails each aggregate it has a position in: the aggregate's last
-- sequence (composite on named editions) minus the handler's position. 0 = caught up.
-- Aggregates a handler has never acknowledged have no position and so no row here.
CREATE VIEW angzarr.handler_lag AS
SELECT p.handler,
       p.domain,
       p.edition,
       p.root,
       p.sequence AS position,
       h.last_sequence,
       h.last_sequence - p.sequence AS lag,
       p.updated_at
  FROM angzarr.positions p
 CROSS JOIN LATERAL (
       SELECT nullif(angzarr.next_sequence(p.domain, p.root, p.edition), 0) - 1 AS last_sequence) h;
COMMENT ON VIEW angzarr.handler_lag IS
    'Per handler and aggregate: position, the aggregate''s last sequence, and lag = last_sequence - position.';
