-- The installed extension's version, or no row when it is missing. A sharding router has no
-- extension of its own: it names the version its functions were generated from in the
-- database setting angzarr_router.extension_version (scripts/shard.sh).
SELECT v FROM (
    SELECT coalesce((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'angzarr_store'),
                    nullif(pg_catalog.current_setting('angzarr_router.extension_version', true), '')) AS v) s
 WHERE v IS NOT NULL
