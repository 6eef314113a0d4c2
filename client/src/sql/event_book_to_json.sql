-- An encoded EventBook as the server shows it.
SELECT angzarr.event_book_to_json(book => $1)
