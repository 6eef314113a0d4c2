-- The installed extension's version, or no row when it is missing.
SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'angzarr_store'
