-- Forgets a handler's positions (all, or one domain's); returns how many.
SELECT angzarr.reset_positions($1, $2)
