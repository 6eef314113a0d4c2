-- An aggregate's newest snapshot, later pages and next sequence as an encoded EventBook.
SELECT angzarr.read_event_book($1, $2, $3, $4)
