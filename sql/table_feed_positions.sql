-- Where each feed consumer has got to in angzarr.read_feed(), so it resumes after a restart.
-- Separate from the per-root positions of the storage contract: a feed checkpoint is a
-- (feed_tx, global_position) pair across all aggregates.
CREATE TABLE angzarr.feed_positions (
    -- The consumer's name, e.g. 'billing' or, per consumer-group member, 'billing/0-of-3'.
    consumer text COLLATE "C" PRIMARY KEY CHECK (consumer <> ''),
    feed_tx bigint NOT NULL CHECK (feed_tx >= 0),
    global_position bigint NOT NULL CHECK (global_position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE angzarr.feed_positions IS
    'Feed checkpoints of consumers; write with angzarr.save_feed_position(), read with angzarr.get_feed_position().';

-- pg_dump includes the checkpoints, so a restored store does not replay the feed to everyone.
SELECT pg_catalog.pg_extension_config_dump('angzarr.feed_positions', '');
