-- Moves a consumer's checkpoint forward; false when it was already at or past it.
SELECT angzarr.save_feed_position(consumer => $1, feed_tx => $2, global_position => $3)
