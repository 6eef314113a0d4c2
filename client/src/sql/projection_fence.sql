-- Serialises one consumer's batches until the transaction ends. Read the stored checkpoint in a
-- later statement: this one's snapshot was taken before the wait.
SELECT pg_catalog.pg_advisory_xact_lock($1::int4, pg_catalog.hashtext($2))
