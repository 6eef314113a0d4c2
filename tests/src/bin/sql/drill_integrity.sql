-- Problems the store's own integrity check finds.
SELECT count(*) FROM angzarr.check_integrity()
