-- The three group roles can do exactly their set: SET ROLE to each and try everything.
-- Also: functions with elevated rights pin their search_path, and objects planted in public
-- are never called by the extension, even for a caller whose search_path puts public first.
\set SHOW_CONTEXT never
-- The roles: NOLOGIN groups, each including the one before.
SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolbypassrls,
       pg_has_role(r.rolname, 'angzarr_reader', 'MEMBER') AS reads,
       pg_has_role(r.rolname, 'angzarr_writer', 'MEMBER') AS writes,
       pg_has_role(r.rolname, 'angzarr_admin', 'MEMBER') AS administers
  FROM pg_roles r WHERE r.rolname LIKE 'angzarr\_%' ORDER BY 1;
-- Every function of the extension and which role may execute it. A new function shows up here
-- and gets its grant in sql/roles.sql (or stays superuser-only, like the trigger functions).
SELECT p.oid::regprocedure AS function,
       has_function_privilege('angzarr_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('angzarr_writer', p.oid, 'EXECUTE') AS writer,
       has_function_privilege('angzarr_admin', p.oid, 'EXECUTE') AS admin,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public
  FROM pg_proc p WHERE p.pronamespace = 'angzarr'::regnamespace ORDER BY p.oid::regprocedure::text;
-- Table privileges: readers SELECT, writers also INSERT (some columns), nobody else anything.
SELECT c.relname, r.role,
       has_table_privilege(r.role, c.oid, 'SELECT') AS sel,
       has_table_privilege(r.role, c.oid, 'INSERT') AS ins,
       has_table_privilege(r.role, c.oid, 'UPDATE') AS upd,
       has_table_privilege(r.role, c.oid, 'DELETE') AS del,
       has_table_privilege(r.role, c.oid, 'TRUNCATE') AS trunc,
       has_table_privilege(r.role, c.oid, 'TRIGGER') AS trig,
       has_any_column_privilege(r.role, c.oid, 'INSERT') AS ins_cols
  FROM pg_class c
 CROSS JOIN (VALUES ('angzarr_reader'), ('angzarr_writer'), ('angzarr_admin')) r(role)
 WHERE c.relnamespace = 'angzarr'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY 1, 2;
-- The columns a writer may INSERT: never global_position, feed_tx, created_at or id.
SELECT a.attname, has_column_privilege('angzarr_writer', 'angzarr.events'::regclass, a.attnum, 'INSERT') AS writer_inserts
  FROM pg_attribute a WHERE a.attrelid = 'angzarr.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
-- Every SECURITY DEFINER function pins search_path (the query must return no row) ...
SELECT p.oid::regprocedure FROM pg_proc p
 WHERE p.pronamespace = 'angzarr'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
 ORDER BY p.oid::regprocedure::text;
-- The functions that run with the owner's rights, and their pinned settings.
SELECT p.oid::regprocedure, p.proconfig FROM pg_proc p
 WHERE p.pronamespace = 'angzarr'::regnamespace AND p.prosecdef ORDER BY p.oid::regprocedure::text;
-- ... and so does every function that is not plain inlinable SQL.
SELECT p.oid::regprocedure, l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'angzarr'::regnamespace AND l.lanname NOT IN ('sql', 'c')
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
 ORDER BY p.oid::regprocedure::text;

-- Each case runs as its role; the outcome is "ok" or the SQLSTATE and message.
CREATE TEMP TABLE cases (n int PRIMARY KEY, role text NOT NULL, label text NOT NULL, sql text NOT NULL);
CREATE TEMP TABLE outcomes (n int PRIMARY KEY, outcome text NOT NULL);
INSERT INTO cases VALUES
 -- Reader: reads, never writes.
 (101, 'angzarr_reader', 'read_stream', $$PERFORM count(*) FROM angzarr.read_stream('acct', '00000000-0000-0000-0000-000000000001')$$),
 (102, 'angzarr_reader', 'select events', $$PERFORM count(*) FROM angzarr.events$$),
 (103, 'angzarr_reader', 'operator_stats', $$PERFORM count(*) FROM angzarr.operator_stats$$),
 (104, 'angzarr_reader', 'append_events', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "Opened"}]')$$),
 (105, 'angzarr_reader', 'insert', $$INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'Opened', '\x')$$),
 (106, 'angzarr_reader', 'nextval', $$PERFORM nextval('angzarr.events_global_position_seq')$$),
 (107, 'angzarr_reader', 'check_integrity', $$PERFORM angzarr.check_integrity()$$),
 (108, 'angzarr_reader', 'read_feed', $$PERFORM count(*) FROM angzarr.read_feed()$$),
 (109, 'angzarr_reader', 'load_aggregate', $$PERFORM count(*) FROM angzarr.load_aggregate('acct', '00000000-0000-0000-0000-000000000001')$$),
 (110, 'angzarr_reader', 'get_snapshot', $$PERFORM count(*) FROM angzarr.get_snapshot('acct', '00000000-0000-0000-0000-000000000001')$$),
 (111, 'angzarr_reader', 'get_position', $$PERFORM angzarr.get_position('acct', '00000000-0000-0000-0000-000000000001', 'projector')$$),
 (112, 'angzarr_reader', 'get_feed_position', $$PERFORM angzarr.get_feed_position('projector')$$),
 (113, 'angzarr_reader', 'list_domains, list_roots, list_editions', $$PERFORM count(*) FROM angzarr.list_domains(); PERFORM count(*) FROM angzarr.list_roots('acct'); PERFORM count(*) FROM angzarr.list_editions()$$),
 (114, 'angzarr_reader', 'read_event_book', $$PERFORM angzarr.read_event_book('acct', '00000000-0000-0000-0000-000000000001')$$),
 (115, 'angzarr_reader', 'save_position', $$PERFORM angzarr.save_position('acct', '00000000-0000-0000-0000-000000000001', 'projector', 0)$$),
 (116, 'angzarr_reader', 'put_snapshot', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000001', 0, '\x01')$$),
 (117, 'angzarr_reader', 'save_feed_position', $$PERFORM angzarr.save_feed_position('projector', 1, 1)$$),
 (118, 'angzarr_reader', 'create_edition', $$PERFORM angzarr.create_edition('reader-edition')$$),
 (119, 'angzarr_reader', 'insert into positions', $$INSERT INTO angzarr.positions (handler, domain, edition, root, sequence) VALUES ('h', 'acct', 'angzarr', '00000000-0000-0000-0000-000000000001', 9)$$),
 -- Writer: appends (function and INSERT), reads back.
 (201, 'angzarr_writer', 'append_events', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "Opened"}, {"type": "Deposited"}]', expected_sequence => 0)$$),
 (202, 'angzarr_writer', 'insert', $$INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'Withdrawn', '\x')$$),
 (203, 'angzarr_writer', 'insert next sequence', $$INSERT INTO angzarr.events (domain, root, event_type, payload, sequence) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'Closed', '\x', 3)$$),
 (204, 'angzarr_writer', 'read_stream', $$PERFORM count(*) FROM angzarr.read_stream('acct', '00000000-0000-0000-0000-000000000001')$$),
 (205, 'angzarr_writer', 'save_position', $$PERFORM angzarr.save_position('acct', '00000000-0000-0000-0000-000000000001', 'projector', 2)$$),
 (206, 'angzarr_writer', 'put_snapshot', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000001', 1, '\x01')$$),
 (207, 'angzarr_writer', 'save_feed_position', $$PERFORM angzarr.save_feed_position('projector', 1, 1)$$),
 (208, 'angzarr_writer', 'create_edition and append to it', $$PERFORM angzarr.create_edition('writer-edition'); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "WhatIf"}]', edition => 'writer-edition')$$),
 (209, 'angzarr_writer', 'append_event_book', $$PERFORM angzarr.append_event_book('\x0a270a120a10000000000000000000000000000000e11206706c617965721a09636f72722d626f6f6b1a4a120608a5facdac061a400a2d747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e506c6179657252656769737465726564120f7b226e616d65223a2022616e6e227d1a331a310a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f73697465641202080a')$$),
 -- Writer: everything that would rewrite history or forge the feed.
 (211, 'angzarr_writer', 'wrong sequence', $$INSERT INTO angzarr.events (domain, root, event_type, payload, sequence) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'Forged', '\x', 1)$$),
 (212, 'angzarr_writer', 'set global_position', $$INSERT INTO angzarr.events (domain, root, event_type, payload, global_position) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'Forged', '\x', 1)$$),
 (213, 'angzarr_writer', 'set feed_tx', $$INSERT INTO angzarr.events (domain, root, event_type, payload, feed_tx) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'Forged', '\x', 1)$$),
 (214, 'angzarr_writer', 'fake a restored row', $$INSERT INTO angzarr.events (domain, root, event_type, payload, sequence, global_position, feed_tx) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'Forged', '\x', 9, 1, 1)$$),
 (215, 'angzarr_writer', 'insert with created_at (EventBook pages keep theirs)', $$INSERT INTO angzarr.events (domain, root, event_type, payload, created_at) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'Forged', '\x', '2000-01-01')$$),
 (216, 'angzarr_writer', 'update', $$UPDATE angzarr.events SET payload = '\x00'$$),
 (217, 'angzarr_writer', 'delete', $$DELETE FROM angzarr.events$$),
 (218, 'angzarr_writer', 'delete with discard flag', $$SET LOCAL angzarr._discarding_edition = 'angzarr'; DELETE FROM angzarr.events$$),
 (219, 'angzarr_writer', 'truncate', $$TRUNCATE angzarr.events$$),
 (220, 'angzarr_writer', 'disable trigger', $$ALTER TABLE angzarr.events DISABLE TRIGGER events_assign_sequence$$),
 (221, 'angzarr_writer', 'drop trigger', $$DROP TRIGGER events_assign_sequence ON angzarr.events$$),
 (222, 'angzarr_writer', 'replica mode', $$SET LOCAL session_replication_role = replica$$),
 (223, 'angzarr_writer', 'setval', $$PERFORM setval('angzarr.events_global_position_seq', 1)$$),
 (224, 'angzarr_writer', 'create in angzarr', $$CREATE TABLE angzarr.planted (x int)$$),
 (225, 'angzarr_writer', 'check_integrity', $$PERFORM angzarr.check_integrity()$$),
 (226, 'angzarr_writer', 'call the trigger function', $$PERFORM angzarr._events_before_insert()$$),
 (227, 'angzarr_writer', 'move a position back directly', $$UPDATE angzarr.positions SET sequence = 0$$),
 (228, 'angzarr_writer', 'save an older position', $$PERFORM angzarr.save_position('acct', '00000000-0000-0000-0000-000000000001', 'projector', 0)$$),
 (229, 'angzarr_writer', 'snapshot beyond the last event', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000001', 99, '\x01')$$),
 (230, 'angzarr_writer', 'insert a snapshot directly', $$INSERT INTO angzarr.snapshots (domain, edition, root, sequence, state) VALUES ('acct', 'angzarr', '00000000-0000-0000-0000-000000000001', 99, '\x01')$$),
 (231, 'angzarr_writer', 'discard_edition', $$PERFORM angzarr.discard_edition('writer-edition')$$),
 (232, 'angzarr_writer', 'delete from editions', $$DELETE FROM angzarr.editions$$),
 -- Admin: the integrity check; still no way to rewrite history.
 (301, 'angzarr_admin', 'check_integrity', $$PERFORM angzarr.check_integrity()$$),
 (302, 'angzarr_admin', 'append_events', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000002', '[{"type": "Opened"}]')$$),
 (303, 'angzarr_admin', 'update', $$UPDATE angzarr.events SET payload = '\x00'$$),
 (304, 'angzarr_admin', 'truncate', $$TRUNCATE angzarr.events$$),
 (305, 'angzarr_admin', 'disable trigger', $$ALTER TABLE angzarr.events DISABLE TRIGGER ALL$$),
 (306, 'angzarr_admin', 'delete main', $$DELETE FROM angzarr.events WHERE edition = 'angzarr'$$),
 (307, 'angzarr_admin', 'delete from an edition directly', $$DELETE FROM angzarr.events WHERE edition = 'writer-edition'$$),
 (308, 'angzarr_admin', 'discard_edition', $$PERFORM angzarr.discard_edition('writer-edition')$$),
 (309, 'angzarr_admin', 'discard main', $$PERFORM angzarr.discard_edition('angzarr')$$);
DO $$
DECLARE
    c record;
    result text;
    st text;
    msg text;
BEGIN
    FOR c IN SELECT * FROM cases ORDER BY n LOOP
        EXECUTE format('SET ROLE %I', c.role);
        BEGIN
            EXECUTE format('DO %L', 'BEGIN ' || c.sql || '; END');
            result := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            result := st || ': ' || msg;
        END;
        RESET ROLE;
        INSERT INTO outcomes VALUES (c.n, result);
    END LOOP;
END
$$;
SELECT c.n, c.role, c.label, o.outcome FROM cases c JOIN outcomes o USING (n) ORDER BY c.n;
-- What the writer and admin cases left behind: only the legitimate appends (the edition's event
-- went with discard_edition), one snapshot, one position, one feed checkpoint.
SELECT domain, root, edition, sequence, event_type FROM angzarr.events ORDER BY domain, root, edition, sequence;
SELECT domain, root, sequence, state FROM angzarr.snapshots ORDER BY 1, 2, 3;
SELECT handler, domain, root, sequence FROM angzarr.positions ORDER BY 1, 2, 3;
SELECT consumer, feed_tx, global_position FROM angzarr.feed_positions ORDER BY 1;
SELECT name FROM angzarr.editions ORDER BY 1;
SELECT * FROM angzarr.check_integrity();

-- Planted objects: an attacker who can create in public shadows names the extension uses.
-- Each logs its call; a caller with public first in its search_path then uses the API.
CREATE TABLE public.planted_calls (what text);
GRANT INSERT ON public.planted_calls TO PUBLIC;
CREATE FUNCTION public.planted_texteq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('= on text'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.planted_texteq);
CREATE FUNCTION public.planted_uuideq(a uuid, b uuid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('= on uuid'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.planted_uuideq);
CREATE FUNCTION public.planted_int8lt(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('< on bigint'); RETURN a OPERATOR(pg_catalog.<) b; END $$;
CREATE OPERATOR public.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.planted_int8lt);
CREATE FUNCTION public.cardinality(anyarray) RETURNS int LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('cardinality'); RETURN pg_catalog.cardinality($1); END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('now'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION public.gen_random_uuid() RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('gen_random_uuid'); RETURN pg_catalog.gen_random_uuid(); END $$;
CREATE FUNCTION public.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('nextval'); RETURN pg_catalog.nextval($1); END $$;
CREATE FUNCTION public.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('jsonb_typeof'); RETURN pg_catalog.jsonb_typeof($1); END $$;
CREATE FUNCTION public.pg_advisory_xact_lock(bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.planted_calls VALUES ('pg_advisory_xact_lock'); END $$;
-- The calls a service makes, each run as the admin with public before pg_catalog in its
-- search_path; the outcome says whether any planted object ran.
CREATE TEMP TABLE api_calls (n int PRIMARY KEY, label text NOT NULL, sql text NOT NULL);
CREATE TEMP TABLE api_outcomes (n int PRIMARY KEY, outcome text NOT NULL, planted text);
INSERT INTO api_calls VALUES
 (1, 'append_events jsonb', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000003', '[{"type": "Opened"}, {"type": "Deposited"}]', expected_sequence => 0, idempotency_key => 'k1')$$),
 (2, 'append_events retry', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000003', '[{"type": "Opened"}, {"type": "Deposited"}]', expected_sequence => 0, idempotency_key => 'k1')$$),
 (3, 'append_events bytea', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000003', ARRAY['Withdrawn'], ARRAY['\x01'::bytea], expected_sequence => 2)$$),
 (4, 'insert', $$INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', '00000000-0000-0000-0000-000000000003', 'Closed', '\x')$$),
 (5, 'read_stream', $$PERFORM count(*) FROM angzarr.read_stream('acct', '00000000-0000-0000-0000-000000000003', from_sequence => 1, to_sequence => 10)$$),
 (6, 'load_aggregate', $$PERFORM count(*) FROM angzarr.load_aggregate('acct', '00000000-0000-0000-0000-000000000003')$$),
 (7, 'read_feed', $$PERFORM count(*) FROM angzarr.read_feed()$$),
 (8, 'put_snapshot', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000003', 2, '\x02')$$),
 (9, 'get_snapshot', $$PERFORM count(*) FROM angzarr.get_snapshot('acct', '00000000-0000-0000-0000-000000000003')$$),
 (10, 'save_position', $$PERFORM angzarr.save_position('acct', '00000000-0000-0000-0000-000000000003', 'projector', 3)$$),
 (11, 'get_position', $$PERFORM angzarr.get_position('acct', '00000000-0000-0000-0000-000000000003', 'projector')$$),
 (12, 'save_feed_position', $$PERFORM angzarr.save_feed_position('projector', 2, 2)$$),
 (13, 'create_edition', $$PERFORM angzarr.create_edition('planted-edition')$$),
 (14, 'discard_edition', $$PERFORM angzarr.discard_edition('planted-edition')$$),
 (15, 'list_domains', $$PERFORM count(*) FROM angzarr.list_domains()$$),
 (16, 'check_integrity', $$PERFORM count(*) FROM angzarr.check_integrity()$$),
 (17, 'operator_stats', $$PERFORM count(*) FROM angzarr.operator_stats$$);
DO $$
DECLARE
    c record;
    result text;
    st text;
    msg text;
    hits text;
BEGIN
    FOR c IN SELECT * FROM api_calls ORDER BY n LOOP
        TRUNCATE public.planted_calls;
        SET ROLE angzarr_admin;
        PERFORM pg_catalog.set_config('search_path', 'public, pg_catalog', true);
        BEGIN
            EXECUTE pg_catalog.format('DO %L', 'BEGIN ' || c.sql || '; END');
            result := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            result := st || ': ' || msg;
        END;
        PERFORM pg_catalog.set_config('search_path', '"$user", public', true);
        RESET ROLE;
        SELECT string_agg(DISTINCT what, ', ' ORDER BY what) INTO hits FROM public.planted_calls;
        INSERT INTO api_outcomes VALUES (c.n, result, hits);
    END LOOP;
END
$$;
-- SQL functions have SQL-standard bodies (BEGIN ATOMIC): they are parsed once at CREATE
-- EXTENSION, so a caller's search_path cannot swap their operators; the planted column below
-- must be empty on every row.
SELECT c.n, c.label, o.outcome, o.planted FROM api_calls c JOIN api_outcomes o USING (n) ORDER BY c.n;
-- With the default search_path (pg_catalog searched first) nothing planted is reached.
TRUNCATE public.planted_calls;
SET ROLE angzarr_admin;
SELECT count(*) FROM angzarr.read_stream('acct', '00000000-0000-0000-0000-000000000003');
SELECT * FROM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000003', '[{"type": "Reopened"}]', expected_sequence => 4);
SELECT count(*) FROM angzarr.load_aggregate('acct', '00000000-0000-0000-0000-000000000003');
RESET ROLE;
SELECT what, count(*) FROM public.planted_calls GROUP BY what ORDER BY what;
