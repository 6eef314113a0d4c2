-- Idempotent appends: a repeated append with the same key returns the original range and
-- writes nothing. Keys are scoped per aggregate (domain, edition, root); '' is no key.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Joined"}]');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Deposited"}, {"type": "Deposited"}]',
                                    idempotency_key => 'stripe-evt-1');
-- The repeat returns 1..2 again, even with different events or a stale expected sequence.
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Deposited"}, {"type": "Deposited"}]',
                                    idempotency_key => 'stripe-evt-1');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Other"}]', expected_sequence => 0,
                                    idempotency_key => 'stripe-evt-1');
SELECT sequence, event_type, idempotency_key FROM angzarr.events WHERE root = :'a' ORDER BY sequence;
-- Later appends continue normally; a new key appends.
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Withdrawn"}]', idempotency_key => 'stripe-evt-2');
SELECT count(*) AS events FROM angzarr.events WHERE root = :'a';

-- The same key on another root, domain or edition is a different append.
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Deposited"}]', idempotency_key => 'stripe-evt-1');
SELECT * FROM angzarr.append_events('wallet', :'a', '[{"type": "Deposited"}]', idempotency_key => 'stripe-evt-1');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Deposited"}]', edition => 'sim',
                                    idempotency_key => 'stripe-evt-1');
-- ... and repeating each of those is again a no-op.
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Deposited"}]', idempotency_key => 'stripe-evt-1');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Deposited"}]', edition => 'sim',
                                    idempotency_key => 'stripe-evt-1');
SELECT domain, edition, root, count(*) FROM angzarr.events
 WHERE idempotency_key = 'stripe-evt-1' GROUP BY domain, edition, root ORDER BY domain, edition, root;

-- An empty key is no key: every call appends.
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Ping"}]', idempotency_key => '');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Ping"}]', idempotency_key => '');
SELECT sequence, event_type, idempotency_key IS NULL AS no_key FROM angzarr.events
 WHERE root = :'b' AND domain = 'player' ORDER BY sequence;

-- A failed first attempt leaves no claim: the retry appends.
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Late"}]', expected_sequence => 0,
                                    idempotency_key => 'retry-me');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Late"}]', idempotency_key => 'retry-me');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Late"}]', idempotency_key => 'retry-me');

-- Within one transaction the repeat sees the first append.
BEGIN;
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "InTx"}]', idempotency_key => 'tx-1');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "InTx"}]', idempotency_key => 'tx-1');
COMMIT;
SELECT count(*) AS in_tx FROM angzarr.events WHERE idempotency_key = 'tx-1';
