-- Forgets a handler's positions (all, or one domain's); returns how many.
SELECT angzarr.reset_positions(handler => $1, domain => $2)
