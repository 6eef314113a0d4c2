-- A handler's last processed sequence in an aggregate, NULL when it has none.
SELECT angzarr.get_position($1, $2, $3, $4)
