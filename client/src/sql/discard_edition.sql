-- Deletes a named edition's events, snapshots, positions and definition.
SELECT angzarr.discard_edition(name => $1)
