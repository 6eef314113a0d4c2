-- Moves a handler's position in an aggregate forward; returns the stored position.
SELECT angzarr.save_position($1, $2, $3, $4, $5)
