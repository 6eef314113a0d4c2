-- The sequence the aggregate's next event gets.
SELECT angzarr.next_sequence(domain => $1, root => $2, edition => $3)
