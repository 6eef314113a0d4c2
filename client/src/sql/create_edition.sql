-- Names an edition, optionally pinning where it diverges from main.
SELECT angzarr.create_edition($1, $2, $3)
