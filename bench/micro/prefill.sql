-- The same 100,000 events (1,000 aggregates of 100) in every store, then fresh statistics.
INSERT INTO floor.events (sequence, domain, root, event_type, payload, feed_tx, global_position)
SELECT s, 'bench', md5('prefill' || a)::uuid, 'Deposited', '\x7b22616d6f756e74223a31323334352c2263757272656e6379223a22455552222c227265666572656e6365223a2262656e63682d30303030303030303030222c226e6f7465223a2261207061796c6f6164206f662061626f7574206f6e652068756e64726564206279746573227d'::bytea, txid_current(), nextval('floor.events_global_position_seq')
  FROM generate_series(1, 1000) a CROSS JOIN LATERAL generate_series(0, 99) s;
INSERT INTO angzarr.events (domain, root, event_type, payload)
SELECT 'bench', md5('prefill' || a)::uuid, 'Deposited', '\x7b22616d6f756e74223a31323334352c2263757272656e6379223a22455552222c227265666572656e6365223a2262656e63682d30303030303030303030222c226e6f7465223a2261207061796c6f6164206f662061626f7574206f6e652068756e64726564206279746573227d'::bytea
  FROM generate_series(1, 1000) a CROSS JOIN LATERAL generate_series(0, 99) s;
INSERT INTO naive.events (domain, root, event_type, payload)
SELECT 'bench', md5('prefill' || a)::uuid, 'Deposited', '\x7b22616d6f756e74223a31323334352c2263757272656e6379223a22455552222c227265666572656e6365223a2262656e63682d30303030303030303030222c226e6f7465223a2261207061796c6f6164206f662061626f7574206f6e652068756e64726564206279746573227d'::bytea
  FROM generate_series(1, 1000) a CROSS JOIN LATERAL generate_series(0, 99) s;
VACUUM ANALYZE floor.events, angzarr.events, naive.events;
