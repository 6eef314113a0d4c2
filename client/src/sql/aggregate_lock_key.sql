-- The key of the lock writers of an aggregate hold (pg_locks: advisory, objsubid 3).
SELECT angzarr.aggregate_lock_key($1, $2, $3)
