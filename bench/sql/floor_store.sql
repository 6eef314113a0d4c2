-- The floor: a twin of angzarr.events with the same columns, defaults and indexes but no
-- trigger and no checks. Writers fill sequence, global_position and feed_tx themselves in the
-- INSERT, so it measures what PostgreSQL itself costs for the same rows. LIKE copies the live
-- definition, so the floor follows whatever the extension's table looks like today.
CREATE SCHEMA floor;
CREATE TABLE floor.events (LIKE angzarr.events INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING STORAGE);
-- angzarr's trigger draws the id of a row without one (the column has no default since 0.2.0);
-- the twin gets the same random id from a default.
ALTER TABLE floor.events ALTER COLUMN id SET DEFAULT gen_random_uuid();
CREATE SEQUENCE floor.events_global_position_seq AS bigint;
