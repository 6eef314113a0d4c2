-- What the drill's consumer applied: one row per event per commit, no key, so a duplicate shows.
CREATE TABLE IF NOT EXISTS drill_seen (
    id uuid NOT NULL,
    feed_tx bigint NOT NULL,
    global_position bigint NOT NULL
)
