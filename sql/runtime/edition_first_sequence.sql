SELECT least(
    angzarr._divergence_sequence($1, $2, $3),
    (SELECT coalesce(max(m.sequence) + 1, 0) FROM angzarr.events m
      WHERE m.domain = $1 AND m.edition = 'angzarr' AND m.root = $3))
