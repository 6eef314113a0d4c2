-- Drops every snapshot of an aggregate in an edition; returns how many.
SELECT angzarr.delete_snapshots(domain => $1, root => $2, edition => $3)
