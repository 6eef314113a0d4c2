-- Named editions, created or merely used, with divergence points and event counts.
SELECT name, created, divergences, diverged_at, event_count, created_at
  FROM angzarr.list_editions()
