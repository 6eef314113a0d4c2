-- What an operator asks first: how much is stored per domain and edition, and how fast it grows.
-- A plain view over angzarr.events (one sequential scan); sizes are the stored (possibly
-- compressed) bytes, so they add up to roughly what the table and its TOAST take on disk.
CREATE VIEW angzarr.operator_stats AS
SELECT e.domain,
       e.edition,
       pg_catalog.count(*) AS event_count,
       pg_catalog.count(DISTINCT e.root) AS aggregate_count,
       pg_catalog.max(e.sequence) + 1 AS longest_stream,
       pg_catalog.sum(pg_catalog.octet_length(e.payload))::bigint AS payload_bytes,
       pg_catalog.sum(pg_catalog.pg_column_size(e.*))::bigint AS stored_bytes,
       pg_catalog.min(e.created_at) AS first_event_at,
       pg_catalog.max(e.created_at) AS last_event_at
  FROM angzarr.events e
 GROUP BY e.domain, e.edition;
COMMENT ON VIEW angzarr.operator_stats IS
    'Per domain and edition: event and aggregate counts, longest stream, payload and stored bytes, first and last append time.';

-- The on-disk footprint of every table of the extension, with its indexes and TOAST.
CREATE VIEW angzarr.operator_storage AS
SELECT c.relname AS table_name,
       c.reltuples::bigint AS estimated_rows,
       pg_catalog.pg_relation_size(c.oid) AS table_bytes,
       pg_catalog.pg_indexes_size(c.oid) AS index_bytes,
       pg_catalog.pg_total_relation_size(c.oid) AS total_bytes
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'angzarr'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p');
COMMENT ON VIEW angzarr.operator_storage IS
    'Disk use of each table of the extension: heap, indexes and total (with TOAST).';
