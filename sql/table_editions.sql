-- Named editions created with an explicit divergence point. Editions used without being
-- created diverge implicitly at their first own event of each aggregate.
CREATE TABLE angzarr.editions (
    name text COLLATE "C" PRIMARY KEY CHECK (name <> 'angzarr' AND name <> ''),
    -- Diverge from main at this time: main events created before it belong to the edition.
    diverged_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE angzarr.editions IS 'Editions with an explicit divergence point.';

-- Per-domain divergence sequence of an edition: main events below it belong to the edition.
CREATE TABLE angzarr.edition_divergences (
    edition text COLLATE "C" NOT NULL REFERENCES angzarr.editions (name) ON DELETE CASCADE,
    domain text COLLATE "C" NOT NULL,
    sequence bigint NOT NULL CHECK (sequence >= 0),
    PRIMARY KEY (edition, domain)
);
COMMENT ON TABLE angzarr.edition_divergences IS 'Per-domain divergence sequences of editions.';

SELECT pg_catalog.pg_extension_config_dump('angzarr.editions', '');
SELECT pg_catalog.pg_extension_config_dump('angzarr.edition_divergences', '');
