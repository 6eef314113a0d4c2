-- Floor: plain INSERT, the writer supplies sequence, feed_tx and global_position.
\set seq :seq + 1
INSERT INTO floor.events (sequence, domain, root, event_type, payload, feed_tx, global_position)
VALUES (:seq, 'bench', md5(:root || :client_id)::uuid, 'Deposited', '\x7b22616d6f756e74223a31323334352c2263757272656e6379223a22455552222c227265666572656e6365223a2262656e63682d30303030303030303030222c226e6f7465223a2261207061796c6f6164206f662061626f7574206f6e652068756e64726564206279746573227d'::bytea, txid_current(), nextval('floor.events_global_position_seq'));
