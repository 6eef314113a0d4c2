-- Appends the pages of an encoded EventBook to the aggregate its cover names.
SELECT first_sequence, last_sequence FROM angzarr.append_event_book(book => $1, idempotency_key => $2)
