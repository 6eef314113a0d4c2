-- Correlation: every event of one business process, across domains and aggregates.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
\set c '00000000-0000-0000-0000-00000000000c'
SELECT * FROM angzarr.append_events('table', :'a', '[{"type": "HandStarted"}]', correlation_id => 'hand-1');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Joined"}]');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "BetPlaced"}, {"type": "FundsReserved"}]', correlation_id => 'hand-1');
SELECT * FROM angzarr.append_events('player', :'c', '[{"type": "BetPlaced"}]', correlation_id => 'hand-1');
SELECT * FROM angzarr.append_events('table', :'a', '[{"type": "HandComplete"}]', correlation_id => 'hand-1');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "WinningsPaid"}]', correlation_id => 'hand-1');
SELECT * FROM angzarr.append_events('player', :'c', '[{"type": "BetPlaced"}]', correlation_id => 'hand-2');
SELECT * FROM angzarr.append_events('player', :'c', '[{"type": "WhatIf"}]', edition => 'sim', correlation_id => 'hand-1');

-- Grouped per aggregate (domain, edition, root), in sequence order within each.
SELECT domain, edition, root, sequence, event_type FROM angzarr.read_correlation('hand-1');
SELECT domain, root, sequence, event_type FROM angzarr.read_correlation('hand-2');
-- Unknown, empty and NULL correlation ids match nothing.
SELECT count(*) FROM angzarr.read_correlation('hand-9');
SELECT count(*) FROM angzarr.read_correlation('');
SELECT count(*) FROM angzarr.read_correlation(NULL);

-- The query is served by the correlation index (the function is inlined into the plan).
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM angzarr.read_correlation('hand-1');
RESET enable_seqscan;
