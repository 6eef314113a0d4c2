-- Moves a consumer's checkpoint forward; false when it was already at or past it.
SELECT angzarr.save_feed_position($1, $2, $3)
