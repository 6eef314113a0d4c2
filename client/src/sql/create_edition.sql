-- Names an edition, optionally pinning where it diverges from main.
SELECT angzarr.create_edition(name => $1, divergences => $2, diverged_at => $3)
