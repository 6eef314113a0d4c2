-- The sequence the aggregate's next event gets.
SELECT angzarr.next_sequence($1, $2, $3)
