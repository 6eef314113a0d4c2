-- The feed clock offset O of this database: writers stamp feed_tx = transaction id + O, readers
-- pass rows below snapshot xmin + O. Transaction ids are one cluster's own; O is what lets rows
-- brought in from another cluster (a restored dump, logical replication) keep their feed_tx and
-- still sort before everything written here afterwards (src/feed_clock.rs raises it, see
-- angzarr._advance_feed_clock()). It only grows. Deliberately NOT marked with
-- pg_extension_config_dump: O is relative to this cluster's transaction ids, so a dump must not
-- carry it to another cluster; a restore starts from 0 and raises it past the restored rows.
CREATE TABLE angzarr.feed_clock (
    -- Exactly one row.
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    xid_offset bigint NOT NULL CHECK (xid_offset >= 0)
);
COMMENT ON TABLE angzarr.feed_clock IS
    'Feed clock offset: feed_tx = transaction id + xid_offset; raised only by angzarr.advance_feed_clock() and restored or replicated rows.';
INSERT INTO angzarr.feed_clock (xid_offset) VALUES (0);
