-- Ours, aggregates of 20 events (a new one every 20 transactions).
\set seq :seq + 1
\set agg :seq / 20
INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('bench', md5(:root || :client_id || '/' || :agg)::uuid, 'Deposited', '\x7b22616d6f756e74223a31323334352c2263757272656e6379223a22455552222c227265666572656e6365223a2262656e63682d30303030303030303030222c226e6f7465223a2261207061796c6f6164206f662061626f7574206f6e652068756e64726564206279746573227d'::bytea);
