-- The checkpoint below which the feed is complete now.
SELECT feed_tx, global_position FROM angzarr.feed_horizon()
