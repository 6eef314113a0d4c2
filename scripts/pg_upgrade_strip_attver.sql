-- Run in every database of a PostgreSQL 15.20 (or later 15.x) cluster just before pg_upgrade to a
-- new major release that predates 15.20 (PostgreSQL 18.6 from August 2026 is one). 15.20 keeps a
-- hidden per-column option pg_attver in pg_attribute.attoptions; its own pg_dump leaves it out,
-- but an older major's pg_dump (the one pg_upgrade uses) copies it into the schema it restores,
-- which then fails with: ERROR: unrecognized parameter "pg_attver". pg_upgrade --check does not
-- notice. The option cannot be RESET with ALTER TABLE, so this removes it from the catalog, for
-- user objects only (oid >= 16384); 15.20 keeps working without it and gives new columns one.
-- Needs a superuser. Prints how many columns it changed.
WITH stripped AS (
    UPDATE pg_catalog.pg_attribute
       SET attoptions = NULLIF(ARRAY(SELECT o FROM pg_catalog.unnest(attoptions) o
                                      WHERE o NOT LIKE 'pg\_attver=%'), '{}')
     WHERE attrelid >= 16384
       AND EXISTS (SELECT FROM pg_catalog.unnest(attoptions) o WHERE o LIKE 'pg\_attver=%')
    RETURNING 1)
SELECT count(*) AS columns_stripped FROM stripped;
