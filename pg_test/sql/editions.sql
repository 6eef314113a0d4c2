-- Editions: named timelines that share main's history up to a divergence point.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
-- Main: player a has events 0..4, table b has 0..1.
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "M0"}, {"type": "M1"}, {"type": "M2"}, {"type": "M3"}, {"type": "M4"}]');
SELECT * FROM angzarr.append_events('table', :'b', '[{"type": "T0"}, {"type": "T1"}]');

-- Implicit divergence: an edition nobody created shares all of main's history until its first
-- own event, which continues main's sequence.
SELECT angzarr.next_sequence('player', :'a', 'implicit');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "I5"}, {"type": "I6"}]', edition => 'implicit');
-- Main moves on; the edition keeps main's 0..4 and its own 5..6.
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "M5"}]');
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'implicit');
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a') WHERE sequence >= 4;
-- Appending continues from the composite's next sequence, gap-free, with expectations.
SELECT angzarr.next_sequence('player', :'a', 'implicit');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "I7"}]', expected_sequence => 7, edition => 'implicit');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "late"}]', expected_sequence => 7, edition => 'implicit');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Explicit divergence per domain: player aggregates share main's events 0..1; other domains
-- (no entry) diverge implicitly.
SELECT angzarr.create_edition('rewind', '{"player": 2}');
SELECT angzarr.next_sequence('player', :'a', 'rewind') AS player_next,
       angzarr.next_sequence('table', :'b', 'rewind') AS table_next;
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'rewind');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "R2"}, {"type": "R3"}]', edition => 'rewind');
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'rewind');
-- Plain INSERT into an edition is checked the same way: an explicit sequence must be next.
INSERT INTO angzarr.events (domain, edition, root, event_type, payload, sequence)
VALUES ('player', 'rewind', :'a', 'R9', '\x', 9);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO angzarr.events (domain, edition, root, event_type, payload, sequence)
VALUES ('player', 'rewind', :'a', 'R4', '\x', 4) RETURNING sequence, edition;

-- Explicit divergence by time: main events created before diverged_at are shared.
INSERT INTO angzarr.events (domain, root, event_type, payload, created_at)
VALUES ('order', :'a', 'Jan', '\x', '2024-01-10 00:00Z'),
       ('order', :'a', 'Feb', '\x', '2024-02-10 00:00Z'),
       ('order', :'a', 'Mar', '\x', '2024-03-10 00:00Z');
SELECT angzarr.create_edition('as-of-feb', diverged_at => '2024-02-01 00:00Z');
SELECT sequence, event_type, edition FROM angzarr.read_stream('order', :'a', edition => 'as-of-feb');
SELECT * FROM angzarr.append_events('order', :'a', '[{"type": "Alt"}]', edition => 'as-of-feb');
SELECT sequence, event_type, edition FROM angzarr.read_stream('order', :'a', edition => 'as-of-feb');

-- Listing: created editions with their points, and editions only used by events.
SELECT name, created, divergences, diverged_at IS NOT NULL AS by_time, event_count
  FROM angzarr.list_editions() ORDER BY name;

-- The main timeline cannot be created or discarded (ZA003); '' and NULL name it too.
SELECT angzarr.create_edition('angzarr');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.discard_edition('angzarr');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.discard_edition(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- An existing edition only grows. Repeating its definition changes nothing (a retry succeeds);
-- a point for a domain it has none for is added; changing a point or diverged_at is refused
-- (23505), and so is a point for a domain the edition already has events in (55000).
SELECT angzarr.create_edition('rewind');
SELECT angzarr.create_edition('rewind', '{"player": 2}');
SELECT angzarr.create_edition('rewind', '{"player": 3}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('rewind', diverged_at => '2024-01-01 00:00Z');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.next_sequence('table', :'b', 'rewind') AS table_next_before;
SELECT angzarr.create_edition('rewind', '{"player": 2, "table": 1}');
SELECT angzarr.next_sequence('table', :'b', 'rewind') AS table_next_after;
SELECT sequence, event_type, edition FROM angzarr.read_stream('table', :'b', edition => 'rewind');
SELECT angzarr.create_edition('as-of-feb', diverged_at => '2024-02-01 00:00Z');
SELECT angzarr.create_edition('as-of-feb', diverged_at => '2024-02-02 00:00Z');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('as-of-feb', '{"order": 1}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- An edition used without being created: it can be named (which changes nothing) and given
-- points for domains it has no events in, but not for one it has (player) nor a time.
SELECT angzarr.create_edition('implicit', '{"player": 1}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('implicit', diverged_at => '2024-01-01 00:00Z');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS implicit_defined FROM angzarr.editions WHERE name = 'implicit';
SELECT angzarr.create_edition('implicit', '{"table": 0}');
SELECT angzarr.next_sequence('table', :'b', 'implicit') AS implicit_table_next;
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'implicit')
 WHERE sequence >= 4;
-- Other refusals.
SELECT angzarr.create_edition('a/b');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('x', '[5]');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('x', '{"player": -1}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('x', '{"player": 1.5}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('x', '{"player": "5"}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.create_edition('x', '{"": 5}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) AS editions FROM angzarr.editions;

-- Discarding deletes the edition's events, snapshots and positions and returns the count.
SELECT * FROM angzarr.put_snapshot('player', :'a', 3, '\x03', edition => 'rewind');
SELECT angzarr.save_position('player', :'a', 'projector', 3, edition => 'rewind');
SELECT angzarr.save_position('player', :'a', 'projector', 3);
SELECT angzarr.discard_edition('rewind');
SELECT count(*) AS events FROM angzarr.events WHERE edition = 'rewind';
SELECT count(*) AS snapshots FROM angzarr.snapshots WHERE edition = 'rewind';
SELECT edition, sequence FROM angzarr.positions ORDER BY edition;
SELECT name FROM angzarr.list_editions() ORDER BY name;
-- Main is untouched; discarding again (or an unknown edition) deletes nothing.
SELECT count(*) AS main_events FROM angzarr.events WHERE edition = 'angzarr';
SELECT angzarr.discard_edition('rewind');
-- Discarding is the only deletion allowed: a plain DELETE of edition events is refused.
DELETE FROM angzarr.events WHERE edition = 'implicit';
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Inside one transaction: write, discard, write again; the edition restarts from main.
BEGIN;
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "I8"}]', edition => 'implicit');
SELECT angzarr.discard_edition('implicit');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "again"}]', edition => 'implicit');
-- ... and the discard permission ended with the discard.
DELETE FROM angzarr.events WHERE edition = 'implicit';
ROLLBACK;
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'implicit')
 WHERE sequence >= 4;

-- A discarded edition's name is free again: it reads as main (like an edition nobody created),
-- has no roots of its own, is not listed, and can be created afresh with other points.
SELECT angzarr.discard_edition('implicit');
SELECT count(*) AS own_roots FROM angzarr.list_roots('player', 'implicit');
SELECT count(*) AS listed FROM angzarr.list_editions() WHERE name = 'implicit';
SELECT count(*) AS divergences FROM angzarr.edition_divergences WHERE edition = 'implicit';
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'implicit')
 WHERE sequence >= 4;
SELECT angzarr.create_edition('implicit', '{"player": 1}');
SELECT sequence, event_type, edition FROM angzarr.read_stream('player', :'a', edition => 'implicit');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "again1"}]', edition => 'implicit');
SELECT name, created, divergences, event_count FROM angzarr.list_editions() WHERE name = 'implicit';
