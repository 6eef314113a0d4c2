-- Every event ever appended. Rows are immutable; the BEFORE INSERT trigger assigns `sequence`,
-- `global_position` and `feed_tx`, whatever the writer put there.
CREATE TABLE angzarr.events (
    -- Gap-free position inside (domain, edition, root): 0, 1, 2, ...
    sequence bigint NOT NULL,
    domain text COLLATE "C" NOT NULL,
    -- Timeline: 'angzarr' is the protected main timeline; NULL and '' are stored as 'angzarr'.
    edition text COLLATE "C" NOT NULL DEFAULT 'angzarr',
    root uuid NOT NULL,
    event_type text NOT NULL,
    payload bytea NOT NULL,
    correlation_id text,
    -- Set on every row of an idempotent append (angzarr's "external id").
    idempotency_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- No column default: the trigger draws a random id for a row without one, so it can tell
    -- a writer-chosen id (which ON CONFLICT DO NOTHING may skip) from its own.
    id uuid NOT NULL,
    -- Global feed order is (feed_tx, global_position); see angzarr.read_feed().
    feed_tx bigint NOT NULL,
    global_position bigint NOT NULL,
    CONSTRAINT events_stream_key PRIMARY KEY (domain, edition, root, sequence),
    CONSTRAINT events_id_key UNIQUE (id),
    -- event_type is checked by the trigger (non-empty, at most 512 bytes): a CHECK constraint
    -- would be re-parsed from its stored form by every INSERT statement.
    CONSTRAINT events_feed_key UNIQUE (feed_tx, global_position)
);
COMMENT ON TABLE angzarr.events IS 'Immutable event log; append with angzarr.append_events() or INSERT.';

-- Positions for the global feed; drawn by the trigger after the aggregate lock is held.
-- CACHE must stay 1: when two events of one aggregate share a feed_tx, their feed order is the
-- order in which their positions were drawn, across backends.
CREATE SEQUENCE angzarr.events_global_position_seq AS bigint CACHE 1;

-- Correlation queries: every event of a business process across aggregates.
CREATE INDEX events_correlation_idx ON angzarr.events (correlation_id)
    WHERE correlation_id IS NOT NULL;

-- Idempotent appends look up their earlier range through this index.
CREATE INDEX events_idempotency_idx ON angzarr.events (domain, edition, root, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Filtered feed reads (angzarr.read_feed(domains => ...), event_types => ...): one ordered
-- range per filtered value instead of the whole feed.
CREATE INDEX events_domain_feed_idx ON angzarr.events (domain, feed_tx, global_position);
CREATE INDEX events_type_feed_idx ON angzarr.events (event_type, feed_tx, global_position);

-- pg_dump includes the events and the feed position counter.
SELECT pg_catalog.pg_extension_config_dump('angzarr.events', '');
SELECT pg_catalog.pg_extension_config_dump('angzarr.events_global_position_seq', '');
