-- The psql session `make shard-demo` runs through the router: the ordinary API, answered by
-- four shards. Aggregates are fixed UUIDs so the output is the same every time.
\set ON_ERROR_STOP 0
\set SHOW_CONTEXT never
\pset footer off
\echo '== the shard map, and where two orders live'
SELECT shard, connstr FROM angzarr_router.shards ORDER BY shard;
SELECT root, angzarr_router.shard_of('order', root) AS shard
  FROM (VALUES ('00000000-0000-0000-0000-000000000001'::uuid), ('00000000-0000-0000-0000-000000000003')) v(root);
\echo '== appends and reads keep their signatures; each call goes to the aggregate''s shard'
SELECT * FROM angzarr.append_events('order', '00000000-0000-0000-0000-000000000001',
    '[{"type": "Placed", "payload": {"sku": "A-1"}}, {"type": "Paid"}]', expected_sequence => 0);
SELECT * FROM angzarr.append_events('order', '00000000-0000-0000-0000-000000000003',
    '[{"type": "Placed", "payload": {"sku": "B-7"}}]', expected_sequence => 0);
SELECT sequence, event_type, angzarr.payload_json(payload) AS payload
  FROM angzarr.read_stream('order', '00000000-0000-0000-0000-000000000001');
\echo '== a stale write is refused by the shard, with its SQLSTATE (ZA001)'
SELECT * FROM angzarr.append_events('order', '00000000-0000-0000-0000-000000000001', '[{"type": "Paid"}]',
    expected_sequence => 1);
\echo '== fan-out: every shard answers, the router merges'
SELECT * FROM angzarr.list_roots('order');
\echo '== the feed is per shard'
SELECT k AS shard, (SELECT count(*) FROM angzarr_shard.read_feed(k)) AS events
  FROM generate_series(0, 3) k;
\echo '== a router transaction writes once (each call commits on its shard by itself)'
BEGIN;
SELECT * FROM angzarr.append_events('order', '00000000-0000-0000-0000-000000000003', '[{"type": "Paid"}]');
SELECT * FROM angzarr.append_events('order', '00000000-0000-0000-0000-000000000001', '[{"type": "Shipped"}]');
ROLLBACK;
