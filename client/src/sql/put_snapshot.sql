-- Stores a snapshot unless a newer one supersedes it, and drops the ones it supersedes.
SELECT stored, removed
  FROM angzarr.put_snapshot(domain => $1, root => $2, sequence => $3, state => $4,
                       retention => $5::angzarr.snapshot_retention, edition => $6,
                       state_type => $7)
