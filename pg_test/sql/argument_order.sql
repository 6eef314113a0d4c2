-- The argument-order rule (CONTRIBUTING.md, "Changing SQL"), checked against the catalog for
-- every public function, so a function added or changed later cannot break it unnoticed:
--   * a function that names an aggregate takes domain first and root second;
--   * a required domain is always the first argument;
--   * edition is optional and the first optional argument (DEFAULT 'angzarr'), after every
--     required argument and before the other optional ones.
-- 0.1.0 broke it in append_events, read_stream, get_snapshot, put_snapshot, get_position and
-- save_position (scripts/test_upgrade.sh runs this query on 0.1.0 and wants those listed).
WITH fn AS (
    SELECT p.oid, p.proname, p.oid::regprocedure AS signature,
           p.pronargs - p.pronargdefaults AS required
      FROM pg_proc p
     WHERE p.pronamespace = 'angzarr'::regnamespace AND p.proname NOT LIKE '\_%'
       AND p.prokind = 'f'
),
arg AS (
    -- Input arguments only, numbered from 1 in call order.
    SELECT f.oid, a.name, row_number() OVER (PARTITION BY f.oid ORDER BY a.n) AS pos
      FROM fn f
      JOIN pg_proc p ON p.oid = f.oid
     CROSS JOIN LATERAL unnest(p.proargnames, coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[cardinality(p.proargnames)])))
           WITH ORDINALITY AS a(name, mode, n)
     WHERE a.mode IN ('i', 'b', 'v')
),
problems AS (
    SELECT f.signature, 'names an aggregate (root) but does not take domain, root first' AS problem
      FROM fn f
     WHERE EXISTS (SELECT 1 FROM arg a WHERE a.oid = f.oid AND a.name = 'root')
       AND NOT (EXISTS (SELECT 1 FROM arg a WHERE a.oid = f.oid AND a.name = 'domain' AND a.pos = 1)
                AND EXISTS (SELECT 1 FROM arg a WHERE a.oid = f.oid AND a.name = 'root' AND a.pos = 2))
    UNION ALL
    SELECT f.signature, 'a required domain is not the first argument'
      FROM fn f JOIN arg a ON a.oid = f.oid AND a.name = 'domain'
     WHERE a.pos <= f.required AND a.pos <> 1
    UNION ALL
    SELECT f.signature, format('edition is argument %s; the first optional one is %s', a.pos, f.required + 1)
      FROM fn f JOIN arg a ON a.oid = f.oid AND a.name = 'edition'
     WHERE a.pos <> f.required + 1
    UNION ALL
    SELECT f.signature, 'edition defaults to ' || coalesce(pg_get_function_arg_default(f.oid, a.pos::int), 'nothing')
      FROM fn f JOIN arg a ON a.oid = f.oid AND a.name = 'edition'
     WHERE a.pos = f.required + 1
       AND pg_get_function_arg_default(f.oid, a.pos::int) IS DISTINCT FROM '''angzarr''::text'
)
SELECT signature, problem FROM problems ORDER BY signature::text, problem;

-- The rule has something to check: the functions it covers are there.
SELECT count(*) FILTER (WHERE a.name = 'root') >= 10 AS aggregate_functions,
       count(*) FILTER (WHERE a.name = 'edition') >= 10 AS edition_functions
  FROM pg_proc p
 CROSS JOIN LATERAL unnest(p.proargnames) AS a(name)
 WHERE p.pronamespace = 'angzarr'::regnamespace AND p.proname NOT LIKE '\_%';
