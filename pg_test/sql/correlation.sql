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
-- Each row carries its correlation_id, like every other event-returning function's rows, and
-- has exactly read_stream's event columns.
SELECT correlation_id, count(*) FROM angzarr.read_correlation(correlation => 'hand-1') GROUP BY 1;
SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FILTER (WHERE a.attname NOT IN (SELECT b.attname FROM pg_attribute b
                                                    WHERE b.attrelid = 'angzarr.events'::regclass)) AS not_event_columns,
       count(*) FILTER (WHERE a.attname IN ('sequence', 'event_type', 'payload', 'correlation_id', 'created_at', 'id',
                                            'edition', 'global_position')) AS read_stream_columns
  FROM (SELECT unnest(p.proargnames) AS attname, generate_subscripts(p.proargnames, 1) AS attnum,
               unnest(p.proargmodes) AS mode
          FROM pg_proc p WHERE p.oid = 'angzarr.read_correlation'::regproc) a
 WHERE a.mode = 't';
-- Unknown, empty and NULL correlation ids match nothing.
SELECT count(*) FROM angzarr.read_correlation('hand-9');
SELECT count(*) FROM angzarr.read_correlation('');
SELECT count(*) FROM angzarr.read_correlation(NULL);

-- The query is served by the correlation index (the function is inlined into the plan).
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM angzarr.read_correlation('hand-1');
RESET enable_seqscan;
