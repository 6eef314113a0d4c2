-- Single-session regressions of the core's trust guarantees: caches that survive a store
-- dropped and created again, digits that survive payload_json(), rows skipped after they were
-- stamped, triggers that would fire after the sequence trigger, and length limits that hold
-- for every write path.
\set VERBOSITY default
\set r '00000000-0000-0000-0000-00000000a001'

-- DROP EXTENSION and CREATE EXTENSION in one transaction: the new store starts from scratch,
-- not from the heads the old one left in the backend's cache.
BEGIN;
SELECT * FROM angzarr.append_events('acct', :'r', ARRAY['A', 'B', 'C'], ARRAY[''::bytea, '', '']);
DROP EXTENSION angzarr_store;
CREATE EXTENSION angzarr_store;
INSERT INTO angzarr.events (id, domain, root, event_type, payload)
VALUES ('00000000-0000-0000-0000-0000000000f0', 'acct', :'r', 'A', '\x') RETURNING sequence;
COMMIT;
SELECT sequence, event_type FROM angzarr.events ORDER BY sequence;

-- payload_json keeps every digit of a number, and gives NULL for what jsonb cannot hold.
SELECT angzarr.payload_json(convert_to('{"big": 98765432109876543210, "dec": 12345678901234567890123.45}', 'UTF8'));
SELECT (p ->> 0)::numeric = 1e400 AS huge_exact, p ->> 1 AS tiny
  FROM angzarr.payload_json(convert_to('[1e400, -0.000000000000000000001]', 'UTF8')) p;
SELECT angzarr.payload_json('\xff00'::bytea) IS NULL AS binary_is_null,
       angzarr.payload_json(convert_to('"\u0000"', 'UTF8')) IS NULL AS nul_escape_is_null,
       angzarr.payload_json(convert_to('{"a": 1} trailing', 'UTF8')) IS NULL AS trailing_is_null,
       angzarr.payload_json(convert_to('1e999999', 'UTF8')) IS NULL AS beyond_numeric_is_null;

-- A row that ON CONFLICT DO NOTHING skips after the trigger stamped it leaves no gap: the next
-- row of the aggregate takes the skipped row's sequence, in the same statement or a later one.
BEGIN;
\set first_id '00000000-0000-0000-0000-0000000000f0'
INSERT INTO angzarr.events (id, domain, root, event_type, payload)
VALUES (:'first_id', 'acct', :'r', 'Duplicate', '\x'),
       ('00000000-0000-0000-0000-0000000000f1', 'acct', :'r', 'Kept', '\x')
ON CONFLICT DO NOTHING;
INSERT INTO angzarr.events (id, domain, root, event_type, payload)
VALUES (:'first_id', 'acct', :'r', 'DuplicateAgain', '\x')
ON CONFLICT DO NOTHING;
INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', :'r', 'Next', '\x');
COMMIT;
SELECT sequence, event_type FROM angzarr.events ORDER BY sequence;
SELECT * FROM angzarr.check_integrity();
-- A plain duplicate id is refused by the unique index as before.
INSERT INTO angzarr.events (id, domain, root, event_type, payload) VALUES (:'first_id', 'acct', :'r', 'Duplicate', '\x');
-- A row without an id gets one; NULL and DEFAULT mean the same.
INSERT INTO angzarr.events (id, domain, root, event_type, payload) VALUES (NULL, 'acct', :'r', 'NullId', '\x'), (DEFAULT, 'acct', :'r', 'DefaultId', '\x');
SELECT sequence, event_type, id IS NOT NULL AS has_id FROM angzarr.events ORDER BY sequence;

-- A BEFORE INSERT row trigger that would fire after the sequence trigger (triggers fire in name
-- order) could drop or change a stamped row: the store refuses to append while it exists. One
-- that fires before it is fine.
CREATE FUNCTION public.skip_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER zz_skip BEFORE INSERT ON angzarr.events FOR EACH ROW EXECUTE FUNCTION public.skip_row();
INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', :'r', 'Refused', '\x');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER zz_skip ON angzarr.events;
CREATE TRIGGER aa_skip_drafts BEFORE INSERT ON angzarr.events FOR EACH ROW
    WHEN (NEW.event_type = 'Draft') EXECUTE FUNCTION public.skip_row();
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Draft', '\x'), ('acct', :'r', 'Final', '\x');
DROP TRIGGER aa_skip_drafts ON angzarr.events;
DROP FUNCTION public.skip_row();
SELECT sequence, event_type FROM angzarr.events ORDER BY sequence;

-- correlation_id and idempotency_key are limited to 1024 bytes on every write path.
INSERT INTO angzarr.events (domain, root, event_type, payload, correlation_id)
VALUES ('acct', :'r', 'LongCorrelation', '\x', repeat('c', 1025));
\echo :LAST_ERROR_SQLSTATE
INSERT INTO angzarr.events (domain, root, event_type, payload, idempotency_key)
VALUES ('acct', :'r', 'LongKey', '\x', repeat('k', 2000));
\echo :LAST_ERROR_SQLSTATE
INSERT INTO angzarr.events (domain, root, event_type, payload, correlation_id, idempotency_key)
VALUES ('acct', :'r', 'AtTheLimit', '\x', repeat('c', 1024), repeat('k', 1024));
SELECT sequence, event_type FROM angzarr.events ORDER BY sequence;
SELECT * FROM angzarr.check_integrity();
