-- Operator views: what is stored per domain and edition, and what each table takes on disk.
\set SHOW_CONTEXT never
-- An empty store shows no domains.
SELECT count(*) FROM angzarr.operator_stats;
SELECT * FROM angzarr.append_events('player', '00000000-0000-0000-0000-000000000001',
    ARRAY['Joined', 'Scored', 'Scored'], ARRAY['\x01'::bytea, '\x0203'::bytea, '\x040506'::bytea]);
SELECT * FROM angzarr.append_events('player', '00000000-0000-0000-0000-000000000002',
    ARRAY['Joined'], ARRAY[''::bytea]);
SELECT * FROM angzarr.append_events('table', '00000000-0000-0000-0000-000000000003',
    ARRAY['Opened'], ARRAY[convert_to(repeat('x', 100000), 'UTF8')]);
SELECT * FROM angzarr.append_events('player', '00000000-0000-0000-0000-000000000001',
    ARRAY['WhatIf'], ARRAY['\x07'::bytea], edition => 'what-if');
-- Counts, the longest stream (its next sequence) and bytes: payload_bytes is what writers sent;
-- stored_bytes is what the rows take after compression (the 100 kB payload compresses well).
SELECT domain, edition, event_count, aggregate_count, longest_stream, payload_bytes,
       stored_bytes < payload_bytes AS compressed,
       last_event_at >= first_event_at AS times_ordered
  FROM angzarr.operator_stats ORDER BY domain, edition;
-- Totals add up to the table.
SELECT sum(event_count) = (SELECT count(*) FROM angzarr.events) AS counts_add_up,
       sum(payload_bytes) = (SELECT sum(octet_length(payload)) FROM angzarr.events) AS bytes_add_up
  FROM angzarr.operator_stats;
-- Every table of the extension, with plausible sizes (exact numbers depend on the page layout).
SELECT table_name, total_bytes >= table_bytes + index_bytes AS total_covers_parts, index_bytes > 0 AS indexed
  FROM angzarr.operator_storage ORDER BY table_name;
-- Readers may look at both views.
SET ROLE angzarr_reader;
SELECT count(*) FROM angzarr.operator_stats;
SELECT count(*) > 0 FROM angzarr.operator_storage;
RESET ROLE;
