-- Roots of a domain as an edition sees them, in UUID order.
SELECT root FROM angzarr.list_roots($1, $2)
