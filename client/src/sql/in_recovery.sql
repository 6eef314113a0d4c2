-- Whether this server is a hot standby: multi-host stores pick the primary by it, feed tails
-- poll instead of LISTEN on one.
SELECT pg_catalog.pg_is_in_recovery()
