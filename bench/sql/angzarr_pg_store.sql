-- angzarr's own PostgreSQL backend as its migrations document it: the events table of
-- angzarr-io/angzarr migrations/postgres/0001_initial_schema.sql (a public schema there; here in
-- a schema of its own so it sits beside the other stores). This is what an angzarr user runs
-- today: no trigger, no global feed. The writer stamps `sequence` (it knows the aggregate's next
-- one) and the primary key is the only concurrency control: a stale writer fails with 23505,
-- reads the head (max(sequence)) and retries. `root` is the aggregate id as text, `created_at`
-- an RFC 3339 string, `event_data` the serialised event (here the bench's payload bytes).
CREATE SCHEMA angzarr_pg;
CREATE TABLE angzarr_pg.events (
    domain TEXT NOT NULL,
    edition TEXT NOT NULL,
    root TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    event_data BYTEA NOT NULL,
    correlation_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (domain, edition, root, sequence)
);
-- The three secondary indexes of the same migration: every append maintains them too.
CREATE INDEX idx_events_domain_edition_root ON angzarr_pg.events (domain, edition, root);
CREATE INDEX idx_events_correlation_id ON angzarr_pg.events (correlation_id);
CREATE INDEX idx_events_created_at ON angzarr_pg.events (domain, edition, root, created_at);
