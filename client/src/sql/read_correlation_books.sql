-- Every event of one business process as encoded EventBooks, one per aggregate.
SELECT book FROM angzarr.read_correlation_books(correlation_id => $1) AS book
