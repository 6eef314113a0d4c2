-- Handler positions: monotonic upsert keyed by (handler, domain, edition, root), and lag.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
\set b '00000000-0000-0000-0000-00000000000b'
-- An unknown position is NULL, not 0.
SELECT angzarr.get_position('player', :'a', 'projector') IS NULL AS unknown_is_null;
-- 0 is a valid position.
SELECT angzarr.save_position('player', :'a', 'projector', 0);
SELECT angzarr.get_position('player', :'a', 'projector');
-- Forward moves; lower or equal sequences are silent no-ops returning the stored position.
SELECT angzarr.save_position('player', :'a', 'projector', 5);
SELECT angzarr.save_position('player', :'a', 'projector', 3);
SELECT angzarr.save_position('player', :'a', 'projector', 5);
SELECT angzarr.get_position('player', :'a', 'projector');
-- Handlers, domains, editions and roots are independent keys.
SELECT angzarr.save_position('player', :'a', 'saga', 1);
SELECT angzarr.save_position('table', :'a', 'projector', 2);
SELECT angzarr.save_position('player', :'b', 'projector', 0);
SELECT angzarr.save_position('player', :'a', 'projector', 9, edition => 'what-if');
SELECT handler, domain, edition, root, sequence FROM angzarr.positions
 ORDER BY handler, domain, edition, root;
SELECT angzarr.get_position('player', :'a', 'projector') AS main,
       angzarr.get_position('player', :'a', 'projector', 'what-if') AS what_if,
       angzarr.get_position('player', :'b', 'saga') AS other_root;
-- '' and NULL editions are main.
SELECT angzarr.save_position('player', :'a', 'projector', 6, edition => '');
SELECT angzarr.get_position('player', :'a', 'projector', NULL) AS via_null,
       angzarr.get_position('player', :'a', 'projector', '') AS via_empty;
-- Bad input is refused with a code per problem.
SELECT angzarr.save_position('player', :'a', 'projector', -1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.save_position('player', :'a', 'projector', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.save_position('player', :'a', NULL, 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.save_position('player', :'a', '', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.save_position(NULL, :'a', 'projector', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.save_position('bad/domain', :'a', 'projector', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT angzarr.save_position('player', NULL, 'projector', 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Lag: the aggregate's last sequence minus the handler's position, per aggregate.
SELECT * FROM angzarr.append_events('player', :'a',
    '[{"type": "Joined"}, {"type": "Deposited"}, {"type": "Deposited"}, {"type": "Deposited"},
      {"type": "Deposited"}, {"type": "Deposited"}, {"type": "Deposited"}, {"type": "Deposited"},
      {"type": "Deposited"}, {"type": "Deposited"}]');
SELECT * FROM angzarr.append_events('player', :'b', '[{"type": "Joined"}]');
SELECT handler, domain, edition, root, position, last_sequence, lag FROM angzarr.handler_lag
 ORDER BY handler, domain, edition, root;
-- The projector catches up on a.
SELECT angzarr.save_position('player', :'a', 'projector', 9);
SELECT handler, root, lag FROM angzarr.handler_lag
 WHERE handler = 'projector' AND domain = 'player' AND edition = 'angzarr' ORDER BY root;

-- reset_positions() is the deliberate way back: a handler rebuilds from scratch.
SELECT angzarr.reset_positions('projector', 'table');
SELECT angzarr.reset_positions('projector');
SELECT angzarr.reset_positions('projector');
SELECT handler, domain, root, sequence FROM angzarr.positions ORDER BY handler, domain, root;
