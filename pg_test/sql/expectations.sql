-- angzarr.expected_sequences: every SET or set_config() of the setting arms its expectations
-- afresh, also when the value is the same as before; each armed expectation is checked against
-- the next row written to its aggregate. A malformed value is refused when it is set.
\set SHOW_CONTEXT never
\set r '00000000-0000-0000-0000-0000000000e1'
\set expect1 '{"acct/00000000-0000-0000-0000-0000000000e1": 1}'
\set expect2 '{"acct/00000000-0000-0000-0000-0000000000e1": 2}'
SELECT * FROM angzarr.append_events('acct', :'r', '[{"type": "Opened"}]');

-- Setting the same expectation twice checks the aggregate twice: the second INSERT was written
-- against sequence 1, which is taken, so it is refused.
BEGIN;
SELECT set_config('angzarr.expected_sequences', :'expect1', true) IS NOT NULL AS set;
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
SELECT set_config('angzarr.expected_sequences', :'expect1', true) IS NOT NULL AS set;
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
\echo SQLSTATE :SQLSTATE
ROLLBACK;
-- The same with SET LOCAL, and with a session-wide SET.
BEGIN;
SET LOCAL angzarr.expected_sequences = :'expect1';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
SET LOCAL angzarr.expected_sequences = :'expect1';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
\echo SQLSTATE :SQLSTATE
ROLLBACK;
BEGIN;
SET angzarr.expected_sequences = :'expect1';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
SET angzarr.expected_sequences = :'expect1';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
\echo SQLSTATE :SQLSTATE
ROLLBACK;
-- The rolled-back transaction's SET went with it.
SHOW angzarr.expected_sequences;
SELECT count(*) AS events FROM angzarr.events WHERE root = :'r';

-- Re-armed with the right expectation, the next INSERT passes; one that was not re-armed is
-- checked once only, so the INSERT after it is not checked.
BEGIN;
SET LOCAL angzarr.expected_sequences = :'expect1';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
SET LOCAL angzarr.expected_sequences = :'expect2';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
ROLLBACK;

-- Rolling back to a savepoint taken before a SET restores the expectations as they were then:
-- one already checked stays checked (the INSERT after the rollback is not checked against it),
-- one not yet checked is armed again.
BEGIN;
SET LOCAL angzarr.expected_sequences = :'expect1';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
SAVEPOINT s;
SET LOCAL angzarr.expected_sequences = :'expect1';
ROLLBACK TO SAVEPOINT s;
SHOW angzarr.expected_sequences;
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
ROLLBACK;
BEGIN;
SET LOCAL angzarr.expected_sequences = :'expect1';
SAVEPOINT s;
SET LOCAL angzarr.expected_sequences = :'expect2';
ROLLBACK TO SAVEPOINT s;
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
-- Setting the expectation of 1 again arms it again: sequence 1 is taken, so this is refused.
SAVEPOINT t;
SET LOCAL angzarr.expected_sequences = :'expect1';
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
\echo SQLSTATE :SQLSTATE
ROLLBACK TO SAVEPOINT t;
-- After the rollback to t the setting is back to the expectation of 1, already checked.
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
ROLLBACK;

-- SET LOCAL ends with its transaction: a stale expectation set in a committed transaction does
-- not reach the next one.
BEGIN;
SET LOCAL angzarr.expected_sequences = :'expect2';
COMMIT;
SHOW angzarr.expected_sequences;
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;

-- A malformed value is refused when it is set (22023), by SET and by set_config(), and the
-- setting keeps its previous value; appends are unaffected.
\set VERBOSITY sqlstate
SET angzarr.expected_sequences = 'not json';
\echo SQLSTATE :SQLSTATE
SET angzarr.expected_sequences = '[1]';
\echo SQLSTATE :SQLSTATE
SET angzarr.expected_sequences = '{"acct/not-a-uuid": 1}';
\echo SQLSTATE :SQLSTATE
SELECT set_config('angzarr.expected_sequences', '{"acct/00000000-0000-0000-0000-0000000000e1": -1}', false);
\echo SQLSTATE :SQLSTATE
SELECT set_config('angzarr.expected_sequences', '{"a/b/c/d": 1}', true);
\echo SQLSTATE :SQLSTATE
\set VERBOSITY default
SHOW angzarr.expected_sequences;
INSERT INTO angzarr.events (domain, root, event_type, payload)
VALUES ('acct', :'r', 'Deposited', '\x') RETURNING sequence;
SELECT sequence, event_type FROM angzarr.read_stream('acct', :'r') ORDER BY sequence;
