-- Parks an event a projection could not apply into the user's table (name quoted by the client).
INSERT INTO {table} (consumer, feed_tx, global_position, domain, edition, root, sequence,
                     event_type, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
