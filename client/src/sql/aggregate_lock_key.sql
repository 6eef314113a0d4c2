-- The advisory lock key writers of an aggregate hold.
SELECT angzarr.aggregate_lock_key($1, $2, $3)
