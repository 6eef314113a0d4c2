-- Stores a snapshot unless a newer one supersedes it, and drops the ones it supersedes.
SELECT stored, removed
  FROM angzarr.put_snapshot($1, $2, $3, $4, $5::angzarr.snapshot_retention, $6, $7)
