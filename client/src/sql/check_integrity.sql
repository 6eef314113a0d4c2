-- Every gap, duplicate or out-of-order position in the store; no rows when healthy.
SELECT problem, domain, edition, root, sequence, coalesce(detail, '') AS detail
  FROM angzarr.check_integrity()
