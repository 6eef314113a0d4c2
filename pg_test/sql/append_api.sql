-- The 0.2.0 append API: edition as the first optional argument, empty batches, explicit
-- per-event times and ids, idempotency keys that no write path can reuse, and conflicts a
-- program can read without parsing the message.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set r '00000000-0000-0000-0000-00000000b001'

-- An empty batch writes nothing and returns NULLs; with an expectation it is a cheap "is my
-- state still current?" check that fails with ZA001 like any append.
SELECT * FROM angzarr.append_events('acct', :'r', '{}'::text[], '{}'::bytea[]);
SELECT * FROM angzarr.append_events('acct', :'r', '{}'::text[], '{}'::bytea[], expected_sequence => 0);
SELECT * FROM angzarr.append_events('acct', :'r', '[]'::jsonb, expected_sequence => 0);
SELECT * FROM angzarr.append_events('acct', :'r', '{}'::text[], '{}'::bytea[], expected_sequence => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM angzarr.events;
-- NULL arrays are not an empty batch.
SELECT * FROM angzarr.append_events('acct', :'r', NULL::text[], '{}'::bytea[]);
\echo :LAST_ERROR_SQLSTATE

-- edition comes right after the required arguments.
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['Opened'], ARRAY[''::bytea], 'what-if', 0);
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['Opened'], ARRAY[''::bytea], NULL, 0);

-- Explicit times (kept to the microsecond; NULL means the transaction's time) and ids.
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['Deposited', 'Withdrawn'], ARRAY[''::bytea, ''],
    expected_sequence => 1,
    created_at => ARRAY['2020-02-29 12:34:56.789012+00'::timestamptz, NULL],
    ids => ARRAY['00000000-0000-0000-0000-0000000000e1'::uuid, '00000000-0000-0000-0000-0000000000e2']);
SELECT sequence, event_type,
       CASE WHEN id::text LIKE '00000000-%' THEN id::text ELSE 'drawn by the trigger' END AS id,
       created_at = '2020-02-29 12:34:56.789012+00' AS kept_time,
       created_at > '2025-01-01' AS stamped_when_appended
  FROM angzarr.events WHERE edition = 'angzarr' ORDER BY sequence;
SELECT * FROM angzarr.append_events('acct', :'r', '[{"type": "Noted"}]'::jsonb,
    ids => ARRAY['00000000-0000-0000-0000-0000000000e3'::uuid],
    created_at => ARRAY['2021-01-01 00:00:00+00'::timestamptz]);
SELECT sequence, id, created_at FROM angzarr.events WHERE id = '00000000-0000-0000-0000-0000000000e3';
-- Bad arrays are refused before anything is written.
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['A', 'B'], ARRAY[''::bytea, ''], ids => ARRAY[gen_random_uuid()]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['A'], ARRAY[''::bytea], ids => ARRAY[NULL::uuid]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['A'], ARRAY[''::bytea], created_at => '{}'::timestamptz[]);
\echo :LAST_ERROR_SQLSTATE
-- An id that exists already is refused by the unique index, and nothing is written.
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['A'], ARRAY[''::bytea],
    ids => ARRAY['00000000-0000-0000-0000-0000000000e1'::uuid]);
\echo :LAST_ERROR_SQLSTATE
SELECT angzarr.next_sequence('acct', :'r');

-- An idempotency key belongs to one append. append_events answers a repeat with the original
-- range; a plain INSERT that reuses the key (in a later statement or transaction) is refused
-- with ZA005, which names the original range.
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['Paid', 'Shipped'], ARRAY[''::bytea, ''], idempotency_key => 'order-7');
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['Paid', 'Shipped'], ARRAY[''::bytea, ''], idempotency_key => 'order-7');
INSERT INTO angzarr.events (domain, root, event_type, payload, idempotency_key) VALUES ('acct', :'r', 'Paid', '\x', 'order-7');
\echo :LAST_ERROR_SQLSTATE
-- One INSERT statement is one append: its rows may share a new key; a later statement may not.
BEGIN;
INSERT INTO angzarr.events (domain, root, event_type, payload, idempotency_key)
VALUES ('acct', :'r', 'A', '\x', 'batch-1'), ('acct', :'r', 'B', '\x', 'batch-1');
SAVEPOINT s;
INSERT INTO angzarr.events (domain, root, event_type, payload, idempotency_key) VALUES ('acct', :'r', 'C', '\x', 'batch-1');
ROLLBACK TO SAVEPOINT s;
INSERT INTO angzarr.events (domain, root, event_type, payload, idempotency_key) VALUES ('acct', :'r', 'C', '\x', 'batch-2');
COMMIT;
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['X'], ARRAY[''::bytea], idempotency_key => 'batch-1');
SELECT idempotency_key, min(sequence), max(sequence), count(*) FROM angzarr.events
 WHERE idempotency_key IS NOT NULL GROUP BY 1 ORDER BY 1;

-- ZA001 and ZA005 carry their facts as JSON in DETAIL.
DO $$
DECLARE
    v_detail text;
BEGIN
    PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-00000000b001', ARRAY['Late'], ARRAY[''::bytea],
                                  expected_sequence => 2);
EXCEPTION WHEN SQLSTATE 'ZA001' THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'expected %, actual %, aggregate %/%/%', v_detail::jsonb -> 'expected', v_detail::jsonb -> 'actual',
        v_detail::jsonb ->> 'domain', v_detail::jsonb ->> 'edition', v_detail::jsonb ->> 'root';
END
$$;
DO $$
DECLARE
    v_detail text;
BEGIN
    INSERT INTO angzarr.events (domain, root, event_type, payload, idempotency_key)
    VALUES ('acct', '00000000-0000-0000-0000-00000000b001', 'Again', '\x', 'order-7');
EXCEPTION WHEN SQLSTATE 'ZA005' THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'key % holds sequences % to %', v_detail::jsonb ->> 'idempotency_key',
        v_detail::jsonb -> 'first_sequence', v_detail::jsonb -> 'last_sequence';
END
$$;
SELECT * FROM angzarr.check_integrity();
