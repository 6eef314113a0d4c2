-- NULL, empty, over-long and malformed values in every argument position of every function a
-- role of the extension may call.
-- Driven by the catalog, so a function added later is swept without touching this file: the
-- functions are those in schema angzarr that angzarr_admin (and through it angzarr_writer and
-- angzarr_reader, or PUBLIC) may execute, public API and `_` helpers alike; trigger functions
-- and owner-only helpers are left out (no role can call them directly). Each function is
-- called once per input argument and hostile value (NULL for every type, then the values of
-- table `hostile` for the argument's type) with a plausible valid value everywhere else (table
-- `sample`: by argument name, else by type). A value may be refused with a fitting SQLSTATE
-- (23502, 22023, 22001, 22P03, 54000, ...) or accepted; it must never end in XX000 (internal
-- error: a Rust panic, or pgrx refusing NULL for a non-Option Rust argument) or crash the
-- backend. Every call runs in its own subtransaction and is rolled back, so calls do not see
-- each other.
\set SHOW_CONTEXT never
SET statement_timeout = '60s';
SELECT * FROM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001',
    '[{"type": "Opened"}, {"type": "Deposited"}]');
-- A valid value per argument name; `argtype` tells arguments of the same name and different
-- types apart (NULL: any type).
CREATE TEMP TABLE sample (argname text NOT NULL, argtype regtype, value text NOT NULL,
                          UNIQUE (argname, argtype));
INSERT INTO sample VALUES
    ('domain', NULL, $$'acct'$$),
    ('root', NULL, $$'00000000-0000-0000-0000-000000000001'$$),
    ('edition', NULL, $$'angzarr'$$),
    ('name', NULL, $$'sweep'$$),
    ('event_types', NULL, $$ARRAY['A']$$),
    ('payloads', NULL, $$ARRAY['\x7b7d'::bytea]$$),
    ('events', NULL, $$'[{"type": "A", "payload": {}}]'$$),
    ('expected_sequence', NULL, '2'),
    ('next_sequence', NULL, '2'),
    ('correlation_id', NULL, $$'corr'$$),
    ('correlation', NULL, $$'corr'$$),
    ('idempotency_key', NULL, $$'key'$$),
    ('key', NULL, $$'key'$$),
    ('handler', NULL, $$'h'$$),
    ('consumer', NULL, $$'c'$$),
    ('retention', NULL, $$'default'$$),
    ('snapshot_retention', NULL, $$'default'$$),
    ('divergences', NULL, $$'{"acct": 1}'$$),
    ('members', NULL, '2'),
    ('member', NULL, '0'),
    ('book', NULL, $$'\x0a270a120a10000000000000000000000000000000e11206706c617965721a09636f72722d626f6f6b1a4a120608a5facdac061a400a2d747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e506c6179657252656769737465726564120f7b226e616d65223a2022616e6e227d1a331a310a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f73697465641202080a'$$);
-- Otherwise by type.
CREATE TEMP TABLE sample_by_type (argtype regtype PRIMARY KEY, value text NOT NULL);
INSERT INTO sample_by_type VALUES
    ('text', $$'x'$$),
    ('uuid', $$'00000000-0000-0000-0000-000000000001'$$),
    ('bigint', '0'),
    ('integer', '0'),
    ('smallint', '0'),
    ('boolean', 'true'),
    ('bytea', $$'\x7b7d'$$),
    ('jsonb', $$'{}'$$),
    ('timestamp with time zone', $$'2026-01-01 00:00:00+00'$$),
    ('interval', $$'1 second'$$),
    ('angzarr.snapshot_retention', $$'default'$$),
    ('text[]', $$ARRAY['x']$$),
    ('bytea[]', $$ARRAY['\x7b7d'::bytea]$$),
    ('bigint[]', $$ARRAY[0]::bigint[]$$),
    ('timestamp with time zone[]', $$ARRAY['2026-01-01 00:00:00+00'::timestamptz]$$),
    ('uuid[]', $$ARRAY['00000000-0000-0000-0000-0000000000a1'::uuid]$$);
-- The hostile values by type, besides NULL. Types not listed here get NULL only.
CREATE TEMP TABLE hostile (argtype regtype NOT NULL, label text NOT NULL, value text NOT NULL,
                           PRIMARY KEY (argtype, label));
INSERT INTO hostile VALUES
    ('text', 'empty', $$''$$),
    ('text', 'over-long (1 MB)', $$repeat('x', 1048576)$$),
    ('text', 'slash and control characters', $$E'a/b\x01\n\x1b[31m'$$),
    ('text', 'injection', $$'x''); DROP TABLE angzarr.events; --'$$),
    ('text', 'non-ASCII', $$repeat('é', 40)$$),
    ('uuid', 'nil', $$'00000000-0000-0000-0000-000000000000'$$),
    ('uuid', 'max', $$'ffffffff-ffff-ffff-ffff-ffffffffffff'$$),
    ('bigint', 'negative', '-1'),
    ('bigint', 'max', '9223372036854775807'),
    ('bigint', 'min', '-9223372036854775808'),
    ('integer', 'negative', '-1'),
    ('integer', 'max', '2147483647'),
    ('integer', 'min', '-2147483648'),
    ('bytea', 'empty', $$'\x'$$),
    ('bytea', 'garbage', $$'\xdeadbeefdeadbeef'$$),
    ('bytea', 'huge length prefix', $$'\x0affffffffffffffffff01'$$),
    ('bytea', 'over-long (1 MB of 0xff)', $$decode(repeat('ff', 1048576), 'hex')$$),
    ('jsonb', 'empty object', $$'{}'$$),
    ('jsonb', 'empty array', $$'[]'$$),
    ('jsonb', 'JSON null', $$'null'$$),
    ('jsonb', 'a string', $$'"x"'$$),
    ('jsonb', 'numbers', $$'[1, -1, 1e30]'$$),
    ('jsonb', 'wrong shapes', $$'[{"type": ""}, {"type": 7}, {"acct": -1}]'$$),
    ('jsonb', 'object of bad values', $$'{"acct": -1, "a/b": "x", "": null}'$$),
    ('jsonb', 'deeply nested', $$(repeat('[', 5000) || repeat(']', 5000))::jsonb$$),
    ('jsonb', 'over-long (1 MB string)', $$jsonb_build_array(jsonb_build_object('type', repeat('t', 1048576)))$$),
    ('text[]', 'empty', $$'{}'::text[]$$),
    ('text[]', 'NULL element', $$ARRAY[NULL::text]$$),
    ('text[]', 'empty element', $$ARRAY['']$$),
    ('text[]', 'two-dimensional', $$ARRAY[['a', 'b'], ['c', 'd']]$$),
    ('text[]', 'over-long element (1 MB)', $$ARRAY[repeat('x', 1048576)]$$),
    ('bytea[]', 'empty', $$'{}'::bytea[]$$),
    ('bytea[]', 'NULL element', $$ARRAY[NULL::bytea]$$),
    ('bytea[]', 'two elements', $$ARRAY['\x'::bytea, '\x'::bytea]$$),
    ('bytea[]', 'two-dimensional', $$ARRAY[['\x'::bytea, '\x'::bytea], ['\x'::bytea, '\x'::bytea]]$$),
    ('uuid[]', 'empty', $$'{}'::uuid[]$$),
    ('uuid[]', 'NULL element', $$ARRAY[NULL::uuid]$$),
    ('uuid[]', 'two elements', $$ARRAY[gen_random_uuid(), gen_random_uuid()]$$),
    ('uuid[]', 'the same id twice', $$ARRAY['00000000-0000-0000-0000-0000000000a2'::uuid, '00000000-0000-0000-0000-0000000000a2'::uuid]$$),
    ('bigint[]', 'empty', $$'{}'::bigint[]$$),
    ('bigint[]', 'NULL element', $$ARRAY[NULL::bigint]$$),
    ('bigint[]', 'negative and max', $$ARRAY[-1, 9223372036854775807]$$),
    ('bigint[]', 'two-dimensional', $$ARRAY[[0, 1], [2, 3]]::bigint[]$$),
    ('timestamp with time zone', 'infinity', $$'infinity'$$),
    ('timestamp with time zone', '-infinity', $$'-infinity'$$),
    ('timestamp with time zone', 'earliest', $$'4714-11-24 00:00:00+00 BC'$$),
    ('timestamp with time zone[]', 'infinities', $$ARRAY['infinity'::timestamptz, '-infinity'::timestamptz]$$),
    ('timestamp with time zone[]', 'NULL element', $$ARRAY[NULL::timestamptz]$$),
    ('interval', 'negative', $$'-1 day'$$),
    ('interval', 'huge', $$'178000000 years'$$);
-- The swept functions and their input arguments, in position order.
CREATE TEMP VIEW swept AS
SELECT p.oid AS fn_oid, p.oid::regprocedure::text AS fn, a.pos, a.argname, a.argtype, a.mode
  FROM pg_proc p
  CROSS JOIN LATERAL (
      SELECT (row_number() OVER (ORDER BY x.ord))::int AS pos, x.name AS argname,
             x.typ::regtype AS argtype, x.mode
        FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                    coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs])),
                    p.proargnames) WITH ORDINALITY AS x(typ, mode, name, ord)
       WHERE x.mode IN ('i', 'b', 'v')) a
 WHERE p.pronamespace = 'angzarr'::regnamespace
   AND p.prokind = 'f'
   AND p.prorettype <> 'trigger'::regtype
   AND has_function_privilege('angzarr_admin', p.oid, 'EXECUTE');
-- Arguments without a sample value: the sweep cannot call their function (extend `sample`).
SELECT fn, pos, argname, argtype FROM swept s
 WHERE NOT EXISTS (SELECT FROM sample m WHERE m.argname = s.argname
                                        AND (m.argtype IS NULL OR m.argtype = s.argtype))
   AND NOT EXISTS (SELECT FROM sample_by_type t WHERE t.argtype = s.argtype)
 ORDER BY fn, pos;
-- The cases: every input argument of every swept function, with NULL and each hostile value.
CREATE TEMP VIEW cases AS
SELECT s.fn_oid, s.fn, s.pos, s.argname, 'NULL' AS label, 'NULL' AS value FROM swept s
UNION ALL
SELECT s.fn_oid, s.fn, s.pos, s.argname, h.label, h.value FROM swept s JOIN hostile h USING (argtype);
-- The value an argument gets when it is not the one under test.
CREATE FUNCTION pg_temp.sample_value(s swept) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT m.value FROM sample m
          WHERE m.argname = s.argname AND (m.argtype IS NULL OR m.argtype = s.argtype)
          ORDER BY m.argtype NULLS LAST LIMIT 1),
        (SELECT t.value FROM sample_by_type t WHERE t.argtype = s.argtype),
        'NULL')
$$;
CREATE TEMP TABLE outcomes (fn text, pos int, argname text, label text, sqlstate text, message text,
                            PRIMARY KEY (fn, pos, label));
DO $sweep$
DECLARE
    c record;
    args text;
    st text;
    msg text;
BEGIN
    FOR c IN SELECT * FROM cases ORDER BY fn, pos, label LOOP
        SELECT string_agg(
                   CASE WHEN s.mode = 'v' THEN 'VARIADIC ' ELSE '' END || '('
                   || CASE WHEN s.pos = c.pos THEN c.value ELSE pg_temp.sample_value(s) END
                   || ')::' || s.argtype::text,
                   ', ' ORDER BY s.pos)
          INTO args
          FROM swept s WHERE s.fn_oid = c.fn_oid;
        BEGIN
            EXECUTE format('SELECT count(*) FROM angzarr.%I(%s)',
                           (SELECT proname FROM pg_proc WHERE oid = c.fn_oid), args);
            -- Undo what an accepted call wrote, so every call starts from the same store.
            RAISE EXCEPTION 'accepted' USING ERRCODE = 'ZZ999';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            IF st = 'ZZ999' THEN
                st := 'ok';
                msg := NULL;
            END IF;
        END;
        INSERT INTO outcomes VALUES (c.fn, c.pos, c.argname, c.label, st, left(msg, 100));
    END LOOP;
END
$sweep$;
-- The sweep reached every function and every argument position, with NULL and hostile values.
SELECT (SELECT count(DISTINCT fn_oid) FROM swept) = (SELECT count(DISTINCT fn) FROM outcomes)
       AND (SELECT count(*) FROM cases) = (SELECT count(*) FROM outcomes) AS every_case_ran,
       (SELECT count(DISTINCT fn) FROM outcomes) >= 40 AS many_functions,
       (SELECT count(*) FROM outcomes WHERE label = 'NULL') = (SELECT count(*) FROM swept) AS null_everywhere;
-- The invariant: no argument value ends in an internal error. Offenders, if any:
SELECT fn, pos, argname, label, sqlstate, message FROM outcomes WHERE sqlstate = 'XX000'
 ORDER BY fn, pos, label;
-- The store is as it was.
SELECT domain, count(*), max(sequence) FROM angzarr.events GROUP BY domain ORDER BY domain;
