-- Reading the store in psql: payloads as JSON or their size, and a description on everything.
\set SHOW_CONTEXT never
\set a '00000000-0000-0000-0000-00000000000a'
SELECT * FROM angzarr.append_events('player', :'a',
    '[{"type": "Joined", "payload": {"name": "ann", "tags": ["vip"]}}, {"type": "Noted", "payload": "hello"}]',
    correlation_id => 'signup-1');
SELECT * FROM angzarr.append_events('player', :'a', ARRAY['Deposited', 'Marked', 'Blank'],
    ARRAY['\x0a0b0c'::bytea, '\xff', '\x']);
SELECT * FROM angzarr.append_events('player', :'a', '[{"type": "Forked"}]', edition => 'sim');

-- The view: every stored event, filtered like the table.
SELECT domain, edition, root, sequence, event_type, correlation_id, payload
  FROM angzarr.events_pretty WHERE root = :'a' ORDER BY edition, sequence;
-- One aggregate as an edition sees it; stored_in tells shared main events from its own.
SELECT sequence, event_type, correlation_id, payload, stored_in FROM angzarr.show_stream('player', :'a', 'sim');
SELECT count(*) FROM angzarr.show_stream('player', '00000000-0000-0000-0000-0000000000ff');

-- \df+ and \d+ explain every function, table, view and type of the extension.
SELECT p.oid::regprocedure::text AS function_without_comment
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'angzarr' AND obj_description(p.oid, 'pg_proc') IS NULL
 ORDER BY 1;
SELECT c.oid::regclass::text AS relation_without_comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'angzarr' AND c.relkind IN ('r', 'v', 'm') AND obj_description(c.oid, 'pg_class') IS NULL
 ORDER BY 1;
SELECT t.oid::regtype::text AS type_without_comment
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'angzarr' AND t.typtype = 'e' AND obj_description(t.oid, 'pg_type') IS NULL
 ORDER BY 1;
-- What \df+ shows for the storage-contract API.
SELECT p.proname AS function, obj_description(p.oid, 'pg_proc') AS description
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'angzarr' AND p.proname IN (
       'save_position', 'get_position', 'reset_positions', 'put_snapshot', 'get_snapshot',
       'delete_snapshots', 'load_aggregate', 'create_edition', 'discard_edition', 'list_editions',
       'read_correlation', 'list_domains', 'list_roots', 'next_sequence', 'read_as_of_sequence',
       'read_as_of_time', 'show_stream', 'append_event_book', 'read_event_book',
       'read_correlation_books', 'event_book_to_json')
 ORDER BY 1;
