-- A handler's last processed sequence in an aggregate, NULL when it has none.
SELECT angzarr.get_position(handler => $1, domain => $2, root => $3, edition => $4)
