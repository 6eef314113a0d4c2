-- The feed clock: rows brought in from a cluster whose transaction ids are far ahead (restored
-- from a dump, or replicated; their feed position is preset) keep their feed_tx, are not held
-- back, and everything written afterwards sorts after them and after the checkpoints that came
-- with them. (scripts/test_feed_migration.sh does the same with real second clusters.)
\set SHOW_CONTEXT never
-- A fresh store: offset 0, so feed_tx is the writer's transaction id and the horizon is xmin.
SELECT xid_offset FROM angzarr.feed_clock;
BEGIN;
SELECT first_sequence FROM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "Opened"}]');
SELECT feed_tx = pg_current_xact_id()::text::bigint AS stamped_with_own_xid FROM angzarr.events WHERE event_type = 'Opened';
COMMIT;
SELECT feed_tx = pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon_is_xmin FROM angzarr.feed_horizon();
-- The offset is this cluster's own: a dump leaves it out.
SELECT 'angzarr.feed_clock'::regclass = ANY (extconfig) AS dumped FROM pg_extension WHERE extname = 'angzarr_store';
-- Replicated rows take the same path as restored ones: the apply worker fires ALWAYS triggers only.
SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'angzarr'::regnamespace AND NOT t.tgisinternal ORDER BY 1, 2;

-- Another cluster's history: ids 10^12 ahead, an event (restored verbatim) and a checkpoint
-- saved at that cluster's horizon, beyond its last event.
SELECT pg_current_xact_id()::text::bigint + 1000000000000 AS far \gset
INSERT INTO angzarr.events (domain, root, sequence, event_type, payload, feed_tx, global_position)
VALUES ('moved', '00000000-0000-0000-0000-00000000000a', 0, 'Old', '\x', :far, 5000),
       ('moved', '00000000-0000-0000-0000-00000000000a', 1, 'Old', '\x', :far, 5001);
INSERT INTO angzarr.feed_positions (consumer, feed_tx, global_position) VALUES ('old-horizon', :far + 500, 0);
SELECT consumer, feed_tx - :far AS feed_tx_minus_far, global_position FROM angzarr.feed_positions ORDER BY 1;
-- Nothing restored moved, nothing is held back, and the clock is past it.
SELECT sequence, feed_tx - :far AS feed_tx_minus_far, global_position FROM angzarr.events WHERE domain = 'moved' ORDER BY sequence;
SELECT count(*) AS visible FROM angzarr.read_feed() WHERE domain = 'moved';
SELECT held_back_events FROM angzarr.feed_lag();
SELECT feed_tx > :far + 500 AS horizon_past_moved FROM angzarr.feed_horizon();
SELECT feed_tx = pg_snapshot_xmin(pg_current_snapshot())::text::bigint + (SELECT xid_offset FROM angzarr.feed_clock) AS horizon_on_clock
  FROM angzarr.feed_horizon();
-- New events, in an old and a new aggregate, sort after everything moved in; positions continue
-- after the moved ones. A consumer resuming from a moved checkpoint sees each new event once.
SELECT first_sequence FROM angzarr.append_events('moved', '00000000-0000-0000-0000-00000000000a', '[{"type": "New"}]');
SELECT first_sequence FROM angzarr.append_events('fresh', '00000000-0000-0000-0000-00000000000b', '[{"type": "New"}, {"type": "New"}]');
SELECT domain, sequence, feed_tx > :far + 500 AS after_moved, global_position > 5001 AS position_after_moved
  FROM angzarr.events WHERE event_type = 'New' ORDER BY feed_tx, global_position;
SELECT f.domain, f.sequence, f.event_type
  FROM angzarr.get_feed_position('old-horizon') p, angzarr.read_feed(p.feed_tx, p.global_position, NULL) f
 ORDER BY f.feed_tx, f.global_position;
SELECT count(*) AS moved_then_new FROM angzarr.read_feed(:far, 5001, NULL);

-- A checkpoint saved through save_feed_position() is a consumer's own: it never moves the clock
-- (a writer cannot push feed_tx towards its limit).
SELECT xid_offset AS before FROM angzarr.feed_clock \gset
SELECT angzarr.save_feed_position('bogus', 9000000000000000000, 0);
SELECT xid_offset = :before AS unchanged FROM angzarr.feed_clock;
-- A restore that rolls back moves nothing either.
BEGIN;
INSERT INTO angzarr.events (domain, root, sequence, event_type, payload, feed_tx, global_position)
VALUES ('gone', '00000000-0000-0000-0000-00000000000c', 0, 'Old', '\x', :far * 2, 9000);
ROLLBACK;
SELECT xid_offset = :before AS unchanged FROM angzarr.feed_clock;
-- Rows applied in replica mode (as logical replication's apply worker does) take the restore path.
SET session_replication_role = replica;
INSERT INTO angzarr.events (domain, root, sequence, event_type, payload, feed_tx, global_position)
VALUES ('replicated', '00000000-0000-0000-0000-00000000000d', 0, 'Old', '\x', :far * 2, 9000);
RESET session_replication_role;
SELECT first_sequence FROM angzarr.append_events('replicated', '00000000-0000-0000-0000-00000000000d', '[{"type": "New"}]');
SELECT sequence, feed_tx > :far * 2 AS after_replicated, global_position > 9000 AS position_after_replicated
  FROM angzarr.events WHERE domain = 'replicated' AND event_type = 'New';
-- In one transaction, a row appended after a moved one sorts after it, in any aggregate.
BEGIN;
INSERT INTO angzarr.events (domain, root, sequence, event_type, payload, feed_tx, global_position)
VALUES ('mixed', '00000000-0000-0000-0000-00000000000e', 0, 'Old', '\x', :far * 3, 9500);
SELECT first_sequence FROM angzarr.append_events('fresh', '00000000-0000-0000-0000-00000000000b', '[{"type": "Mixed"}]');
COMMIT;
SELECT feed_tx > :far * 3 AS after_moved_same_tx FROM angzarr.events WHERE event_type = 'Mixed';

-- advance_feed_clock(): for checkpoints kept outside the database. It only ever raises. It
-- trusts stored checkpoints, but refuses one beyond any real clock (the bogus one above).
SELECT xid_offset AS before FROM angzarr.feed_clock \gset
SELECT angzarr.advance_feed_clock();
DELETE FROM angzarr.feed_positions WHERE consumer = 'bogus';
SELECT angzarr.advance_feed_clock() = :before AS nothing_to_do;
SELECT angzarr.advance_feed_clock(:far * 4) > :before AS raised;
SELECT first_sequence FROM angzarr.append_events('fresh', '00000000-0000-0000-0000-00000000000b', '[{"type": "Late"}]');
SELECT feed_tx > :far * 4 AS after_external_checkpoint FROM angzarr.events WHERE event_type = 'Late';
SELECT xid_offset AS before FROM angzarr.feed_clock \gset
SELECT angzarr.advance_feed_clock(1) = :before AS never_lowers;
SELECT angzarr.advance_feed_clock(-1);
SELECT angzarr.advance_feed_clock(NULL);
-- Admins may raise it; writers may not.
SET ROLE angzarr_admin;
SELECT angzarr.advance_feed_clock() = :before AS admin_may;
SET ROLE angzarr_writer;
SELECT angzarr.advance_feed_clock();
SELECT angzarr._advance_feed_clock(1, 1);
RESET ROLE;
SELECT count(*) AS problems FROM angzarr.check_integrity();

-- The clock only moves forward and is never removed, not even by its owner; a clock row that
-- logical replication applies (another cluster's, from a publication FOR ALL TABLES) is dropped.
SELECT xid_offset AS before FROM angzarr.feed_clock \gset
UPDATE angzarr.feed_clock SET xid_offset = xid_offset - 1;
DELETE FROM angzarr.feed_clock;
SET session_replication_role = replica;
UPDATE angzarr.feed_clock SET xid_offset = 7;
INSERT INTO angzarr.feed_clock (singleton, xid_offset) VALUES (true, 7);
RESET session_replication_role;
SELECT xid_offset = :before AS unchanged FROM angzarr.feed_clock;
