-- Comments for the functions implemented in Rust (src/functions.rs), so \df+ explains them too.
COMMENT ON FUNCTION angzarr._expect_next_sequence(text, text, uuid, bigint) IS
    'Internal: registers the next sequence the caller expects; the trigger checks it on the next row of that aggregate.';
COMMENT ON FUNCTION angzarr._lock_aggregate(text, text, uuid) IS
    'Internal: takes the aggregate''s append lock until the transaction ends.';
COMMENT ON FUNCTION angzarr.aggregate_lock_key(text, uuid, text) IS
    'The key of the lock writers of this aggregate hold (pg_locks: advisory, objsubid 3, classid/objid its halves).';
COMMENT ON FUNCTION angzarr._lock_edition(text) IS
    'Internal: takes the edition''s lock in exclusive mode until the transaction ends; returns its event count as committed now.';
COMMENT ON FUNCTION angzarr._check_range(bigint, bigint, bigint) IS
    'Internal: validates a read range once per query; raises 22023 for a negative bound or count.';
COMMENT ON FUNCTION angzarr._forget_edition(text) IS
    'Internal: drops the trigger''s cached heads of an edition after its rows were deleted.';
COMMENT ON FUNCTION angzarr._idempotent_range(text, text, uuid, text) IS
    'Internal: the range an earlier append with this idempotency key wrote, as committed now.';
COMMENT ON FUNCTION angzarr._check_next_sequence(text, text, uuid, bigint) IS
    'Internal: an empty append''s check; locks the aggregate and raises ZA001 when its next sequence differs.';
