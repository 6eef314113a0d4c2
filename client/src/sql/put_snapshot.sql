-- Stores a snapshot and drops the ones it supersedes; returns how many were dropped.
SELECT angzarr.put_snapshot($1, $2, $3, $4, $5::angzarr.snapshot_retention, $6, $7)
