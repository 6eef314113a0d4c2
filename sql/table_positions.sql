-- Where each handler (projector, saga, process manager) has got to in each aggregate, so it
-- resumes after a restart instead of reprocessing history. Keyed like angzarr's PositionStore.
CREATE TABLE angzarr.positions (
    handler text COLLATE "C" NOT NULL CHECK (handler <> ''),
    domain text COLLATE "C" NOT NULL,
    -- Same spelling as angzarr.events.edition: 'angzarr' is the main timeline.
    edition text COLLATE "C" NOT NULL DEFAULT 'angzarr',
    root uuid NOT NULL,
    -- The last sequence the handler has processed; it only ever grows.
    sequence bigint NOT NULL CHECK (sequence >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT positions_key PRIMARY KEY (handler, domain, edition, root)
);
COMMENT ON TABLE angzarr.positions IS
    'Last processed sequence per (handler, domain, edition, root); written by angzarr.save_position().';

SELECT pg_catalog.pg_extension_config_dump('angzarr.positions', '');
