-- The consumer's effect of one event, committed with its checkpoint.
INSERT INTO drill_seen (id, feed_tx, global_position) VALUES ($1, $2, $3)
