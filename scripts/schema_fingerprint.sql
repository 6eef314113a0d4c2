-- One line per object of the extension and what defines it, sorted: two databases print the
-- same lines exactly when the extension's schema is the same (used by scripts/test_upgrade.sh
-- to compare an upgraded installation with a fresh one). Object identities only, no OIDs.
WITH members AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_extension x ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                                     AND d.refobjid = x.oid AND x.extname = 'angzarr_store'
     WHERE d.deptype = 'e'
)
SELECT line FROM (
    SELECT 'function ' || p.oid::pg_catalog.regprocedure || ' returns ' || pg_catalog.pg_get_function_result(p.oid)
           || ' ' || p.provolatile::text || p.proisstrict::text || p.prosecdef::text || p.proparallel::text
           || ' ' || coalesce(p.proconfig::text, '') || ' ' || coalesce(p.proacl::text, '')
           || ' args ' || pg_catalog.pg_get_function_arguments(p.oid)
           || ' body ' || pg_catalog.md5(coalesce(p.prosrc, '') || coalesce(p.probin, '')) AS line
      FROM members m JOIN pg_catalog.pg_proc p ON m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = m.objid
    UNION ALL
    SELECT 'relation ' || c.relkind::text || ' ' || c.oid::pg_catalog.regclass || ' ' || coalesce(c.relacl::text, '')
      FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
    UNION ALL
    SELECT 'column ' || c.oid::pg_catalog.regclass || '.' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
           || ' notnull=' || a.attnotnull || ' collation=' || coalesce(co.collname, '')
           || ' default=' || coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')
           || ' ' || coalesce(a.attacl::text, '')
      FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT 'constraint ' || con.conrelid::pg_catalog.regclass || ' ' || con.conname || ' ' || pg_catalog.pg_get_constraintdef(con.oid)
      FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
      JOIN pg_catalog.pg_constraint con ON con.conrelid = c.oid
    UNION ALL
    SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
      FROM members m JOIN pg_catalog.pg_index i ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND i.indrelid = m.objid
    UNION ALL
    SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::pg_catalog.text
      FROM members m JOIN pg_catalog.pg_trigger t ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND t.tgrelid = m.objid
     WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'view ' || c.oid::pg_catalog.regclass || ' ' || pg_catalog.md5(pg_catalog.pg_get_viewdef(c.oid))
      FROM members m JOIN pg_catalog.pg_class c ON m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = m.objid
     WHERE c.relkind = 'v'
    UNION ALL
    SELECT 'type ' || t.oid::pg_catalog.regtype || ' ' || t.typtype::text || ' '
           || coalesce((SELECT pg_catalog.string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                          FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '')
      FROM members m JOIN pg_catalog.pg_type t ON m.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = m.objid
    UNION ALL
    SELECT 'dumped ' || c::pg_catalog.regclass FROM pg_catalog.pg_extension x, unnest(x.extconfig) c
     WHERE x.extname = 'angzarr_store'
    UNION ALL
    SELECT 'role ' || r.rolname || ' login=' || r.rolcanlogin || ' member of ' ||
           coalesce((SELECT pg_catalog.string_agg(g.rolname, ',' ORDER BY g.rolname)
                       FROM pg_catalog.pg_auth_members am JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
                      WHERE am.member = r.oid), '')
      FROM pg_catalog.pg_roles r WHERE r.rolname IN ('angzarr_reader', 'angzarr_writer', 'angzarr_admin')
) s ORDER BY line;
