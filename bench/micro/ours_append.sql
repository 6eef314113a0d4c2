-- Ours: the documented API, append_events with an expected sequence.
\set seq :seq + 1
SELECT first_sequence FROM angzarr.append_events('bench', md5(:root || :client_id)::uuid, ARRAY['Deposited'], ARRAY['\x7b22616d6f756e74223a31323334352c2263757272656e6379223a22455552222c227265666572656e6365223a2262656e63682d30303030303030303030222c226e6f7465223a2261207061796c6f6164206f662061626f7574206f6e652068756e64726564206279746573227d'::bytea], expected_sequence => :seq);
