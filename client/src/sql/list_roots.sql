-- Roots of a domain as an edition sees them, in UUID order.
SELECT root FROM angzarr.list_roots(domain => $1, edition => $2)
