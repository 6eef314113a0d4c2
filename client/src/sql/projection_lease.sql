-- Takes the session lease of a projection consumer if nobody holds it; released when the
-- session ends. Key: (class, hashtext(consumer)); see client/src/projection.rs.
SELECT pg_catalog.pg_try_advisory_lock($1::int4, pg_catalog.hashtext($2))
