-- Deletes a named edition's events, snapshots, positions and definition.
SELECT angzarr.discard_edition($1)
