-- A consumer's checkpoint, (0, 0) with updated_at NULL when it never saved one.
SELECT feed_tx, global_position, updated_at FROM angzarr.get_feed_position(consumer => $1)
