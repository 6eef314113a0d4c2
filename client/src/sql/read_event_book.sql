-- An aggregate's newest snapshot, later pages and next sequence as an encoded EventBook.
SELECT angzarr.read_event_book(domain => $1, root => $2, edition => $3, use_snapshot => $4)
