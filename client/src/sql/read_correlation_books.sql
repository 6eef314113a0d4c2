-- Every event of one business process as encoded EventBooks, one per aggregate.
SELECT book FROM angzarr.read_correlation_books($1) AS book
