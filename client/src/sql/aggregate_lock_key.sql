-- The key of the lock writers of an aggregate hold (pg_locks: advisory, objsubid 3).
SELECT angzarr.aggregate_lock_key(domain => $1, root => $2, edition => $3)
