-- Examples of the book's operations pages (roles, integrity, monitoring), included from
-- pg_test/expected/book_operations.out.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Joined"}, {"type": "Deposited", "payload": {"amount": 5}}]');

-- ANCHOR: roles
SELECT r.rolname AS role, r.rolcanlogin AS can_login,
       array(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
              WHERE m.member = r.oid ORDER BY 1) AS member_of
  FROM pg_roles r WHERE r.rolname LIKE 'angzarr\_%' ORDER BY 1;
-- ANCHOR_END: roles

-- ANCHOR: function-roles
-- The least role that may call each public function (each role includes the one before it).
SELECT function, least_role FROM (
    SELECT DISTINCT p.proname AS function,
           CASE WHEN has_function_privilege('angzarr_reader', p.oid, 'EXECUTE') THEN 'angzarr_reader'
                WHEN has_function_privilege('angzarr_writer', p.oid, 'EXECUTE') THEN 'angzarr_writer'
                WHEN has_function_privilege('angzarr_admin', p.oid, 'EXECUTE') THEN 'angzarr_admin'
                ELSE 'superusers only' END AS least_role
      FROM pg_proc p
     WHERE p.pronamespace = 'angzarr'::regnamespace AND p.proname !~ '^_'
       AND p.prorettype <> 'trigger'::regtype) f
 ORDER BY array_position(ARRAY['angzarr_reader', 'angzarr_writer', 'angzarr_admin'], least_role) NULLS LAST,
          function;
-- ANCHOR_END: function-roles

SET client_min_messages = warning;
DROP ROLE IF EXISTS book_reader;
DROP ROLE IF EXISTS book_writer;
RESET client_min_messages;
-- ANCHOR: role-checks
CREATE ROLE book_reader IN ROLE angzarr_reader;
CREATE ROLE book_writer IN ROLE angzarr_writer;
SET ROLE book_reader;
SELECT count(*) FROM angzarr.read_stream('player', :'a');
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Noted"}]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE book_writer;
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Noted"}]');
DELETE FROM angzarr.events WHERE root = :'a';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM angzarr.check_integrity();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
-- ANCHOR_END: role-checks

-- ANCHOR: check-integrity
-- A healthy store: no rows.
SELECT * FROM angzarr.check_integrity();
-- ANCHOR_END: check-integrity

-- ANCHOR: operator-stats
SELECT domain, edition, event_count, aggregate_count, longest_stream, payload_bytes
  FROM angzarr.operator_stats;
SELECT table_name FROM angzarr.operator_storage ORDER BY table_name;
-- ANCHOR_END: operator-stats
-- ANCHOR: damage
-- Damage only a superuser can plant, with triggers off: player a has events 0..2, and a row
-- at sequence 5 leaves a gap.
SET session_replication_role = replica;
INSERT INTO angzarr.events (domain, edition, root, sequence, event_type, payload, feed_tx, global_position, id)
VALUES ('player', 'angzarr', :'a', 5, 'Planted', '\x', 9000000001, 9000000001, gen_random_uuid());
RESET session_replication_role;
SELECT problem, domain, root, sequence, detail FROM angzarr.check_integrity();
-- ANCHOR_END: damage

DROP ROLE book_reader;
DROP ROLE book_writer;
