-- The angzarr_store demo: a player's account as events.
\set ON_ERROR_STOP off
\set SHOW_CONTEXT never
\pset footer off
SELECT gen_random_uuid() AS player \gset
\echo '-- A fresh player aggregate:' :player

\echo '-- Append two events to a new aggregate (expected_sequence => 0: it must be new).'
SELECT * FROM angzarr.append_events('player', :'player',
    '[{"type": "PlayerRegistered", "payload": {"name": "ann"}},
      {"type": "FundsDeposited",   "payload": {"amount": 100}}]',
    expected_sequence => 0);

\echo '-- Decide on what we loaded (next sequence 2) and append.'
SELECT * FROM angzarr.append_events('player', :'player',
    '[{"type": "FundsWithdrawn", "payload": {"amount": 30}}]',
    expected_sequence => 2, correlation_id => 'order-17');

\echo '-- A writer that loaded the aggregate before that withdrawal is refused; it reloads and retries.'
SELECT * FROM angzarr.append_events('player', :'player',
    '[{"type": "FundsWithdrawn", "payload": {"amount": 90}}]',
    expected_sequence => 2);
\echo '-- SQLSTATE:' :LAST_ERROR_SQLSTATE

\echo '-- The history, payloads as JSON.'
SELECT sequence, event_type, angzarr.payload_json(payload) AS payload, correlation_id
  FROM angzarr.read_stream('player', :'player');

\echo '-- History is immutable.'
UPDATE angzarr.events SET payload = '\x' WHERE root = :'player';
\echo '-- SQLSTATE:' :LAST_ERROR_SQLSTATE
