-- Drops every snapshot of an aggregate in an edition; returns how many.
SELECT angzarr.delete_snapshots($1, $2, $3)
