\echo Use "ALTER EXTENSION angzarr_store UPDATE TO '0.2.0'" to load this file. \quit
-- angzarr_store 0.1.0 -> 0.2.0. Each change below says what changed and why; the result must be
-- exactly a fresh 0.2.0 install (scripts/test_upgrade.sh compares the two schemas).

-- Core: the trigger draws the id of a row that comes without one, so that it can tell a
-- writer-chosen id (a row ON CONFLICT DO NOTHING may skip) from its own. Inserting NULL or
-- DEFAULT for id keeps working.
ALTER TABLE angzarr.events ALTER COLUMN id DROP DEFAULT;

-- Core: create_edition() and discard_edition() serialise with appends that start an
-- aggregate's history in the edition through the edition's lock (src/locks.rs).
CREATE FUNCTION angzarr."_lock_edition"("edition" TEXT) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c AS 'MODULE_PATHNAME', 'lock_edition_wrapper';
REVOKE ALL ON FUNCTION angzarr._lock_edition(text) FROM PUBLIC;
COMMENT ON FUNCTION angzarr._lock_edition(text) IS
    'Internal: takes the edition''s lock in exclusive mode until the transaction ends; returns its event count as committed now.';

-- Core: the aggregate locks are no longer advisory locks SQL can take (see src/locks.rs).
COMMENT ON FUNCTION angzarr.aggregate_lock_key(text, uuid, text) IS
    'The key of the lock writers of this aggregate hold (pg_locks: advisory, objsubid 3, classid/objid its halves).';
