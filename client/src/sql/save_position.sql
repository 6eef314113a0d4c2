-- Moves a handler's position in an aggregate forward; returns the stored position.
SELECT angzarr.save_position(handler => $1, domain => $2, root => $3, sequence => $4, edition => $5)
