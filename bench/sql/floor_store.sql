-- The floor: a twin of angzarr.events with the same columns, defaults and indexes but no
-- trigger and no checks. Writers fill sequence, global_position and feed_tx themselves in the
-- INSERT, so it measures what PostgreSQL itself costs for the same rows. LIKE copies the live
-- definition, so the floor follows whatever the extension's table looks like today.
CREATE SCHEMA floor;
CREATE TABLE floor.events (LIKE angzarr.events INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING STORAGE);
CREATE SEQUENCE floor.events_global_position_seq AS bigint;
