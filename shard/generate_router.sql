-- Generates the router's functions from a shard's catalog and the routing list: run it with
-- psql on a database that has angzarr_store, after shard/routing.sql, and feed its output to
-- psql on the router database (scripts/shard.sh does both). The router functions keep the API's
-- signatures (arguments, defaults, results) because they are copied from pg_proc, never typed.
-- Refuses (and prints nothing) when an API function has no routing rule or a rule names no
-- function.
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned

-- The API: functions of schema angzarr without a leading underscore.
CREATE TEMP VIEW api AS
SELECT p.oid, p.proname::text AS name,
       pg_get_function_arguments(p.oid) AS args,
       pg_get_function_result(p.oid) AS result,
       -- The input argument names in order, for calls that pass every argument positionally.
       (SELECT string_agg(quote_ident(a.n), ', ' ORDER BY a.i)
          FROM unnest(p.proargnames, coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[cardinality(p.proargnames)])))
               WITH ORDINALITY AS a(n, m, i)
         WHERE a.m IN ('i', 'b', 'v')) AS call_args
  FROM pg_proc p
 WHERE p.pronamespace = 'angzarr'::regnamespace AND p.proname !~ '^_' AND p.prokind = 'f';

DO $$
DECLARE
    v_missing text := (SELECT string_agg(DISTINCT a.name, ', ') FROM api a
                        WHERE NOT EXISTS (SELECT 1 FROM routing r WHERE r.name = a.name));
    v_stale text := (SELECT string_agg(r.name, ', ') FROM routing r
                      WHERE NOT EXISTS (SELECT 1 FROM api a WHERE a.name = r.name));
BEGIN
    IF v_missing IS NOT NULL OR v_stale IS NOT NULL THEN
        RAISE EXCEPTION 'the routing list and the API differ'
            USING ERRCODE = '42883',
                  DETAIL = format('API functions without a rule: %s. Rules without a function: %s.',
                                  coalesce(v_missing, 'none'), coalesce(v_stale, 'none')),
                  HINT = 'Add or remove the row in shard/routing.sql.';
    END IF;
END
$$;

-- Enum types the signatures use, as the shard defines them.
SELECT format('CREATE TYPE angzarr.%I AS ENUM (%s);', t.typname,
              (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                 FROM pg_enum e WHERE e.enumtypid = t.oid))
  FROM pg_type t
 WHERE t.typnamespace = 'angzarr'::regnamespace AND t.typtype = 'e'
 ORDER BY t.typname;

-- The API under its own name on the router.
SELECT CASE
    WHEN r.rule IN ('aggregate', 'aggregate_write', 'book_write', 'any') THEN
        format(E'CREATE FUNCTION angzarr.%I(%s) RETURNS %s LANGUAGE plproxy AS $plproxy$\n    CLUSTER ''angzarr'';\n    RUN ON %s;\n$plproxy$;',
               a.name, a.args, a.result,
               CASE r.rule
                   WHEN 'aggregate' THEN 'angzarr_router.read_hash(domain, root)'
                   WHEN 'aggregate_write' THEN format('angzarr_router.write_hash(domain, root, %L)', a.name)
                   WHEN 'book_write' THEN 'angzarr_router.book_write_hash(book)'
                   ELSE 'ANY' END)
    WHEN r.rule IN ('all', 'all_write') THEN
        format(E'CREATE FUNCTION angzarr_fanout.%I(%s) RETURNS %s LANGUAGE plproxy AS $plproxy$\n    CLUSTER ''angzarr'';\n    RUN ON ALL;\n    %s;\n$plproxy$;\n',
               a.name || '__all', a.args,
               coalesce(r.inner_result, CASE WHEN a.result ~ '^(TABLE|SETOF)' THEN a.result ELSE 'SETOF ' || a.result END),
               coalesce(r.inner_select, format('TARGET angzarr.%I', a.name)))
        || format(E'CREATE FUNCTION angzarr.%I(%s) RETURNS %s LANGUAGE sql VOLATILE AS $sql$\n    %s%s;\n$sql$;',
                  a.name, a.args, a.result,
                  CASE WHEN r.rule = 'all_write'
                       THEN format(E'SELECT angzarr_router.write_hash(NULL, NULL, %L);\n    ', a.name) ELSE '' END,
                  replace(r.merge, '%rows%', format('angzarr_fanout.%I(%s)', a.name || '__all', a.call_args)))
    ELSE
        format(E'CREATE FUNCTION angzarr.%I(%s) RETURNS %s LANGUAGE plpgsql AS $plpgsql$\nBEGIN\n    PERFORM angzarr_router.refuse_per_shard(%L);\nEND\n$plpgsql$;',
               a.name, a.args, a.result, a.name)
    END
  || E'\n' || format('COMMENT ON FUNCTION angzarr.%I(%s) IS %L;', a.name, pg_get_function_identity_arguments(a.oid),
                     format('Router (%s): %s', r.rule, coalesce(obj_description(a.oid, 'pg_proc'), '')))
  FROM api a JOIN routing r USING (name)
 ORDER BY a.name, a.args;

-- Every API function on one named shard: angzarr_shard.<name>(shard, ...), for per-shard work
-- through the router (the feed, an edition's state on each shard).
SELECT format(E'CREATE FUNCTION angzarr_shard.%I(%s) RETURNS %s LANGUAGE plproxy AS $plproxy$\n    CLUSTER ''angzarr'';\n    RUN ON angzarr_router.check_shard(shard);\n    SELECT * FROM angzarr.%I(%s);\n$plproxy$;',
              a.name, concat_ws(', ', 'shard integer', nullif(a.args, '')), a.result, a.name, a.call_args)
       || E'\n' || format('COMMENT ON FUNCTION angzarr_shard.%I(%s) IS %L;', a.name,
                          concat_ws(', ', 'integer', nullif(pg_get_function_identity_arguments(a.oid), '')),
                          format('angzarr.%s() on the given shard.', a.name))
  FROM api a
 WHERE a.result <> 'void'
 ORDER BY a.name, a.args;
