-- How long a snapshot is kept, as angzarr's SnapshotRetention defines it:
--   persist   - kept until the aggregate's snapshots are deleted (business milestones);
--   transient - removed when a newer snapshot of the aggregate is put;
--   default   - "persist every 16 events, transient otherwise": removed when a newer snapshot
--               lands in the same 16-sequence window (sequence / 16), so each window keeps its
--               newest default snapshot.
CREATE TYPE angzarr.snapshot_retention AS ENUM ('default', 'persist', 'transient');
COMMENT ON TYPE angzarr.snapshot_retention IS
    'Snapshot retention: default (newest per 16-sequence window kept), persist (kept), transient (replaced by any newer).';

-- Cached aggregate state. A snapshot at sequence s is the state after applying events 0..s;
-- loading continues with the events after s. Events stay the source of truth: snapshots can
-- be deleted at any time.
CREATE TABLE angzarr.snapshots (
    domain text COLLATE "C" NOT NULL,
    edition text COLLATE "C" NOT NULL DEFAULT 'angzarr',
    root uuid NOT NULL,
    sequence bigint NOT NULL CHECK (sequence >= 0),
    -- The serialised state, byte for byte as put.
    state bytea NOT NULL,
    -- What the state is (protobuf Any.type_url); NULL when the writer did not say.
    state_type text,
    retention angzarr.snapshot_retention NOT NULL DEFAULT 'default',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT snapshots_key PRIMARY KEY (domain, edition, root, sequence)
);
COMMENT ON TABLE angzarr.snapshots IS
    'Aggregate state snapshots; write with angzarr.put_snapshot(), read with angzarr.get_snapshot() / angzarr.load_aggregate().';

SELECT pg_catalog.pg_extension_config_dump('angzarr.snapshots', '');
