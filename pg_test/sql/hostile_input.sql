-- Hostile input, table-driven: every argument of every public function gets NULLs, empty and
-- 1 MB strings, control characters, injection strings, bad UUIDs, negative and huge numbers,
-- malformed settings, oversized batches and payloads, truncated and garbage protobuf.
-- Each case ends in a clear error with a fitting SQLSTATE, or in a documented success; a case
-- that fails writes nothing (the "wrote" column counts rows it added to the extension's
-- tables); no case may end in XX000 (internal error, e.g. a Rust panic).
\set SHOW_CONTEXT never
-- A valid encoded EventBook (2 pages for player/...e1), from pg_test/sql/event_book.sql.
\set book '\\x0a270a120a10000000000000000000000000000000e11206706c617965721a09636f72722d626f6f6b1a4a120608a5facdac061a400a2d747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e506c6179657252656769737465726564120f7b226e616d65223a2022616e6e227d1a331a310a2b747970652e676f6f676c65617069732e636f6d2f6578616d706c65732e46756e64734465706f73697465641202080a'
CREATE TEMP TABLE fixture AS SELECT :'book'::bytea AS book;
SELECT * FROM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001',
    '[{"type": "Opened"}, {"type": "Deposited"}]');
CREATE TEMP TABLE cases (n int PRIMARY KEY, label text NOT NULL, sql text NOT NULL);
CREATE TEMP TABLE outcomes (n int PRIMARY KEY, sqlstate text NOT NULL, message text, wrote bigint NOT NULL);
CREATE FUNCTION pg_temp.rows_stored() RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM angzarr.events) + (SELECT count(*) FROM angzarr.snapshots)
         + (SELECT count(*) FROM angzarr.positions) + (SELECT count(*) FROM angzarr.feed_positions)
         + (SELECT count(*) FROM angzarr.editions) + (SELECT count(*) FROM angzarr.edition_divergences)
$$;
INSERT INTO cases VALUES
 -- append_events(domain, root, event_types, payloads, edition, expected_sequence, correlation_id, idempotency_key, created_at, ids)
 (1, 'domain NULL', $$PERFORM angzarr.append_events(NULL, '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (2, 'domain empty', $$PERFORM angzarr.append_events('', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (3, 'domain 1 MB', $$PERFORM angzarr.append_events(repeat('d', 1048576), '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (4, 'domain with newline', $$PERFORM angzarr.append_events(E'ac\nct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (5, 'domain with escape char', $$PERFORM angzarr.append_events(E'acct\x1b[31m', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (6, 'domain with slash', $$PERFORM angzarr.append_events('acct/x', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (7, 'domain injection (stored as text)', $$PERFORM angzarr.append_events($i$x'); DROP TABLE angzarr.events; --$i$, '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (8, 'domain 65 bytes of UTF-8', $$PERFORM angzarr.append_events(repeat('é', 32) || 'x', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (9, 'root NULL', $$PERFORM angzarr.append_events('acct', NULL, ARRAY['A'], ARRAY['\x'::bytea])$$),
 (10, 'root invalid UUID text', $$PERFORM angzarr.append_events('acct', 'not-a-uuid', ARRAY['A'], ARRAY['\x'::bytea])$$),
 (11, 'root injection text', $$PERFORM angzarr.append_events('acct', $i$'; DELETE FROM angzarr.events; --$i$, ARRAY['A'], ARRAY['\x'::bytea])$$),
 (12, 'event_types NULL', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', NULL::text[], ARRAY['\x'::bytea])$$),
 (13, 'event_types empty', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY[]::text[], ARRAY[]::bytea[])$$),
 (14, 'event_types and payloads differ in length', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A', 'B'], ARRAY['\x'::bytea])$$),
 (15, 'event type NULL element', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A', NULL], ARRAY['\x'::bytea, '\x'::bytea])$$),
 (16, 'event type empty', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY[''], ARRAY['\x'::bytea])$$),
 (17, 'event type 1 MB', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY[repeat('t', 1048576)], ARRAY['\x'::bytea])$$),
 (18, 'payloads NULL', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], NULL::bytea[])$$),
 (19, 'payload NULL element', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY[NULL::bytea])$$),
 (20, 'two-dimensional arrays', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY[['A', 'B'], ['C', 'D']], ARRAY[['\x'::bytea, '\x'::bytea], ['\x'::bytea, '\x'::bytea]])$$),
 (21, 'expected_sequence negative', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea], expected_sequence => -1)$$),
 (22, 'expected_sequence bigint max', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea], expected_sequence => 9223372036854775807)$$),
 (23, 'expected_sequence bigint min', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea], expected_sequence => -9223372036854775808)$$),
 (24, 'edition with slash', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea], edition => 'a/b')$$),
 (25, 'edition 1 MB', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea], edition => repeat('e', 1048576))$$),
 (26, 'edition with NUL-like control char', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea], edition => E'ed\x01')$$),
 (27, 'correlation_id 1 MB', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea], correlation_id => repeat('c', 1048576))$$),
 (28, 'idempotency_key 1 MB', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', ARRAY['A'], ARRAY['\x'::bytea], idempotency_key => repeat('k', 1048576))$$),
 (29, 'idempotency_key with control chars (stored as text)', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000002', ARRAY['A'], ARRAY['\x'::bytea], idempotency_key => E'k\t\r\n')$$),
 (30, '100,000 events in one call', $$PERFORM angzarr.append_events('bulk', '00000000-0000-0000-0000-000000000003', array_agg('E'::text), array_agg(int4send(i))) FROM generate_series(1, 100000) i$$),
 (31, '32 MB payload', $$PERFORM angzarr.append_events('bulk', '00000000-0000-0000-0000-000000000004', ARRAY['Big'], ARRAY[convert_to(repeat('p', 33554432), 'UTF8')])$$),
 (32, 'payload over 1 GB (cannot be built)', $$PERFORM angzarr.append_events('bulk', '00000000-0000-0000-0000-000000000004', ARRAY['Huge'], ARRAY[convert_to(repeat('p', 1073741824), 'UTF8')])$$),
 -- append_events(domain, root, events jsonb, ...)
 (40, 'events NULL', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', NULL::jsonb)$$),
 (41, 'events an object', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '{"type": "A"}'::jsonb)$$),
 (42, 'events empty array', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[]'::jsonb)$$),
 (43, 'events of numbers', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[1, 2]'::jsonb)$$),
 (44, 'event without type', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"payload": 1}]'::jsonb)$$),
 (45, 'event type a number', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": 7}]'::jsonb)$$),
 (46, 'events not JSON', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"'::jsonb)$$),
 (47, 'JSON type with NUL escape', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A\u0000"}]'::jsonb)$$),
 (48, 'deeply nested payload (stored)', $$PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000005', ('[{"type": "Deep", "payload": ' || repeat('[', 5000) || repeat(']', 5000) || '}]')::jsonb)$$),
 -- INSERT INTO angzarr.events directly
 (50, 'insert domain NULL', $$INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES (NULL, '00000000-0000-0000-0000-000000000001', 'A', '\x')$$),
 (51, 'insert root NULL', $$INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', NULL, 'A', '\x')$$),
 (52, 'insert sequence negative', $$INSERT INTO angzarr.events (domain, root, event_type, payload, sequence) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'A', '\x', -5)$$),
 (53, 'insert sequence far ahead', $$INSERT INTO angzarr.events (domain, root, event_type, payload, sequence) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'A', '\x', 1000000)$$),
 (54, 'insert sequence bigint max', $$INSERT INTO angzarr.events (domain, root, event_type, payload, sequence) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'A', '\x', 9223372036854775807)$$),
 (55, 'insert event_type NULL', $$INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', '00000000-0000-0000-0000-000000000001', NULL, '\x')$$),
 (56, 'insert payload NULL', $$INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'A', NULL)$$),
 (57, 'insert only global_position (no feed_tx)', $$INSERT INTO angzarr.events (domain, root, event_type, payload, global_position) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'A', '\x', 5)$$),
 (58, 'restored row without a sequence', $$INSERT INTO angzarr.events (domain, root, event_type, payload, global_position, feed_tx) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'A', '\x', 5, 5)$$),
 (59, 'restored row duplicating a sequence', $$INSERT INTO angzarr.events (domain, root, event_type, payload, sequence, global_position, feed_tx) VALUES ('acct', '00000000-0000-0000-0000-000000000001', 'A', '\x', 0, 5, 5)$$),
 -- The angzarr.expected_sequences setting
 (60, 'setting not JSON', $$PERFORM set_config('angzarr.expected_sequences', '{nope', true); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"}]')$$),
 (61, 'setting a JSON array', $$PERFORM set_config('angzarr.expected_sequences', '[1, 2]', true); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"}]')$$),
 (62, 'setting negative sequence', $$PERFORM set_config('angzarr.expected_sequences', '{"acct/00000000-0000-0000-0000-000000000001": -1}', true); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"}]')$$),
 (63, 'setting sequence 1e30', $$PERFORM set_config('angzarr.expected_sequences', '{"acct/00000000-0000-0000-0000-000000000001": 1e30}', true); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"}]')$$),
 (64, 'setting key with a bad UUID', $$PERFORM set_config('angzarr.expected_sequences', '{"acct/00000000-zzzz-0000-0000-000000000001": 2}', true); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"}]')$$),
 (65, 'setting key with four parts', $$PERFORM set_config('angzarr.expected_sequences', '{"a/b/c/00000000-0000-0000-0000-000000000001": 2}', true); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"}]')$$),
 (66, 'setting 1 MB of garbage', $$PERFORM set_config('angzarr.expected_sequences', repeat('{', 1048576), true); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"}]')$$),
 (67, 'setting a stale expectation', $$PERFORM set_config('angzarr.expected_sequences', '{"acct/00000000-0000-0000-0000-000000000001": 0}', true); PERFORM angzarr.append_events('acct', '00000000-0000-0000-0000-000000000001', '[{"type": "A"}]')$$),
 -- Reading
 (70, 'read_stream from negative', $$PERFORM count(*) FROM angzarr.read_stream('acct', '00000000-0000-0000-0000-000000000001', from_sequence => -1)$$),
 (71, 'read_stream from NULL', $$PERFORM count(*) FROM angzarr.read_stream('acct', '00000000-0000-0000-0000-000000000001', from_sequence => NULL)$$),
 (72, 'read_stream max_count negative', $$PERFORM count(*) FROM angzarr.read_stream('acct', '00000000-0000-0000-0000-000000000001', max_count => -1)$$),
 (73, 'read_stream to before from (empty)', $$PERFORM count(*) FROM angzarr.read_stream('acct', '00000000-0000-0000-0000-000000000001', from_sequence => 5, to_sequence => 1)$$),
 (74, 'read_stream domain 1 MB (empty)', $$PERFORM count(*) FROM angzarr.read_stream(repeat('d', 1048576), '00000000-0000-0000-0000-000000000001')$$),
 (75, 'read_feed max_count negative', $$PERFORM count(*) FROM angzarr.read_feed(0, 0, -1)$$),
 (76, 'read_feed members 0', $$PERFORM count(*) FROM angzarr.read_feed(members => 0)$$),
 (77, 'read_feed member beyond members', $$PERFORM count(*) FROM angzarr.read_feed(member => 3, members => 2)$$),
 (78, 'read_feed negative checkpoint', $$PERFORM count(*) FROM angzarr.read_feed(-1, -1)$$),
 (79, 'feed_member members negative', $$PERFORM angzarr.feed_member('acct', '00000000-0000-0000-0000-000000000001', -4)$$),
 (80, 'read_as_of_sequence negative', $$PERFORM count(*) FROM angzarr.read_as_of_sequence('acct', '00000000-0000-0000-0000-000000000001', -1)$$),
 (81, 'read_as_of_time infinity', $$PERFORM count(*) FROM angzarr.read_as_of_time('acct', '00000000-0000-0000-0000-000000000001', 'infinity')$$),
 (82, 'read_as_of_time NULL', $$PERFORM count(*) FROM angzarr.read_as_of_time('acct', '00000000-0000-0000-0000-000000000001', NULL)$$),
 (83, 'load_aggregate domain NULL', $$PERFORM count(*) FROM angzarr.load_aggregate(NULL, '00000000-0000-0000-0000-000000000001')$$),
 (84, 'next_sequence edition 1 MB', $$PERFORM angzarr.next_sequence('acct', '00000000-0000-0000-0000-000000000001', repeat('e', 1048576))$$),
 (85, 'list_roots domain NULL', $$PERFORM count(*) FROM angzarr.list_roots(NULL)$$),
 (86, 'read_correlation 1 MB', $$PERFORM count(*) FROM angzarr.read_correlation(repeat('c', 1048576))$$),
 (87, 'aggregate_lock_key domain NULL', $$PERFORM angzarr.aggregate_lock_key(NULL, '00000000-0000-0000-0000-000000000001')$$),
 (88, 'payload_json of invalid UTF-8 (NULL)', $$PERFORM angzarr.payload_json('\xfffe')$$),
 -- Positions, feed checkpoints, snapshots
 (90, 'save_position handler NULL', $$PERFORM angzarr.save_position('acct', '00000000-0000-0000-0000-000000000001', NULL, 0)$$),
 (91, 'save_position handler empty', $$PERFORM angzarr.save_position('acct', '00000000-0000-0000-0000-000000000001', '', 0)$$),
 (92, 'save_position handler 1 MB', $$PERFORM angzarr.save_position('acct', '00000000-0000-0000-0000-000000000001', repeat('h', 1048576), 0)$$),
 (93, 'save_position sequence negative', $$PERFORM angzarr.save_position('acct', '00000000-0000-0000-0000-000000000001', 'h', -1)$$),
 (94, 'save_position root NULL', $$PERFORM angzarr.save_position('acct', NULL, 'h', 0)$$),
 (95, 'save_position domain with slash', $$PERFORM angzarr.save_position('a/b', '00000000-0000-0000-0000-000000000001', 'h', 0)$$),
 (96, 'get_position handler NULL', $$PERFORM angzarr.get_position('acct', '00000000-0000-0000-0000-000000000001', NULL)$$),
 (97, 'reset_positions handler NULL', $$PERFORM angzarr.reset_positions(NULL)$$),
 (98, 'save_feed_position consumer NULL', $$PERFORM angzarr.save_feed_position(NULL, 1, 1)$$),
 (99, 'save_feed_position negative', $$PERFORM angzarr.save_feed_position('c', -1, -1)$$),
 (100, 'save_feed_position consumer 1 MB', $$PERFORM angzarr.save_feed_position(repeat('c', 1048576), 1, 1)$$),
 (101, 'put_snapshot beyond the last event', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000001', 99, '\x01')$$),
 (102, 'put_snapshot sequence negative', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000001', -1, '\x01')$$),
 (103, 'put_snapshot state NULL', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000001', 0, NULL)$$),
 (104, 'put_snapshot retention unknown', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000001', 0, '\x01', retention => 'forever')$$),
 (105, 'put_snapshot on an unknown aggregate', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-0000000000ff', 0, '\x01')$$),
 (106, 'put_snapshot sequence bigint max', $$PERFORM angzarr.put_snapshot('acct', '00000000-0000-0000-0000-000000000001', 9223372036854775807, '\x01')$$),
 (107, 'get_snapshot max_sequence negative', $$PERFORM count(*) FROM angzarr.get_snapshot('acct', '00000000-0000-0000-0000-000000000001', max_sequence => -1)$$),
 (108, 'delete_snapshots domain NULL', $$PERFORM angzarr.delete_snapshots(NULL, '00000000-0000-0000-0000-000000000001')$$),
 -- Editions
 (110, 'create_edition NULL', $$PERFORM angzarr.create_edition(NULL)$$),
 (111, 'create_edition empty', $$PERFORM angzarr.create_edition('')$$),
 (112, 'create_edition main', $$PERFORM angzarr.create_edition('angzarr')$$),
 (113, 'create_edition with slash', $$PERFORM angzarr.create_edition('a/b')$$),
 (114, 'create_edition divergences an array', $$PERFORM angzarr.create_edition('e1', '[1]')$$),
 (115, 'create_edition divergence negative', $$PERFORM angzarr.create_edition('e2', '{"acct": -1}')$$),
 (116, 'create_edition divergence a string', $$PERFORM angzarr.create_edition('e3', '{"acct": "x"}')$$),
 (117, 'create_edition divergence domain 1 MB', $$PERFORM angzarr.create_edition('e4', jsonb_build_object(repeat('d', 1048576), 1))$$),
 (118, 'create_edition name injection', $$PERFORM angzarr.create_edition($i$x'); DROP TABLE angzarr.events; --$i$)$$),
 (119, 'create_edition twice (the repeat is a no-op)', $$PERFORM angzarr.create_edition('twice'); PERFORM angzarr.create_edition('twice')$$),
 (120, 'discard_edition NULL (main)', $$PERFORM angzarr.discard_edition(NULL)$$),
 (121, 'discard_edition unknown (nothing to do)', $$PERFORM angzarr.discard_edition('never-used')$$),
 -- Protobuf EventBooks
 (130, 'append_event_book NULL', $$PERFORM angzarr.append_event_book(NULL)$$),
 (131, 'append_event_book empty bytes', $$PERFORM angzarr.append_event_book('\x')$$),
 (132, 'append_event_book garbage', $$PERFORM angzarr.append_event_book('\xdeadbeefdeadbeef')$$),
 (133, 'append_event_book truncated', $$PERFORM angzarr.append_event_book((SELECT substring(book FROM 1 FOR 60) FROM fixture))$$),
 (134, 'append_event_book cut by one byte', $$PERFORM angzarr.append_event_book((SELECT substring(book FROM 1 FOR octet_length(book) - 1) FROM fixture))$$),
 (135, 'append_event_book huge length prefix', $$PERFORM angzarr.append_event_book('\x0affffffffffffffffff01')$$),
 (136, 'append_event_book 1 MB of 0xff', $$PERFORM angzarr.append_event_book(decode(repeat('ff', 1048576), 'hex'))$$),
 (137, 'append_event_book wrong wire type', $$PERFORM angzarr.append_event_book('\x0d00000000')$$),
 (138, 'append_event_book idempotency_key 1 MB', $$PERFORM angzarr.append_event_book((SELECT book FROM fixture), repeat('k', 1048576))$$),
 (139, 'event_book_to_json garbage', $$PERFORM angzarr.event_book_to_json('\x0a0a0a0a')$$),
 (140, 'read_event_book domain NULL', $$PERFORM angzarr.read_event_book(NULL, '00000000-0000-0000-0000-000000000001')$$),
 (141, 'read_correlation_books NULL', $$PERFORM count(*) FROM angzarr.read_correlation_books(NULL)$$),
 (142, 'append_event_book valid book (stored)', $$PERFORM angzarr.append_event_book((SELECT book FROM fixture), 'book-1')$$),
 (143, 'append_event_book same book again, no key (appends again)', $$PERFORM angzarr.append_event_book((SELECT book FROM fixture))$$),
 (144, 'event_book_to_json with a flipped byte', $$PERFORM angzarr.event_book_to_json(set_byte(f.book, i, get_byte(f.book, i) # 255)) FROM fixture f, generate_series(0, octet_length(f.book) - 1) i WHERE i = 3$$),
 (145, 'event_book_to_json of 0- and 1-byte prefixes', $$PERFORM count(*) FROM (SELECT angzarr.event_book_to_json(substring(f.book FROM 1 FOR i)) FROM fixture f, generate_series(0, 1) i) x$$);
DO $$
DECLARE
    c record;
    st text;
    msg text;
    before bigint;
BEGIN
    FOR c IN SELECT * FROM cases ORDER BY n LOOP
        before := pg_temp.rows_stored();
        BEGIN
            EXECUTE format('DO %L', 'BEGIN ' || c.sql || '; END');
            st := 'ok';
            msg := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        PERFORM set_config('angzarr.expected_sequences', '', true);
        INSERT INTO outcomes VALUES (c.n, st, left(msg, 160), pg_temp.rows_stored() - before);
    END LOOP;
END
$$;
SELECT c.n, c.label, o.sqlstate, o.message, o.wrote FROM cases c JOIN outcomes o USING (n) ORDER BY c.n;
-- The invariants: no internal errors, failed cases wrote nothing, the store is intact.
SELECT count(*) AS internal_errors FROM outcomes WHERE sqlstate = 'XX000';
SELECT count(*) AS failed_cases_that_wrote FROM outcomes WHERE sqlstate <> 'ok' AND wrote <> 0;
SELECT domain, count(*), max(sequence) FROM angzarr.events GROUP BY domain ORDER BY domain;
SELECT * FROM angzarr.check_integrity();

-- Every writable column of angzarr.events with NULL, empty, over-long and malformed values,
-- through INSERT and through COPY (which fires the trigger row by row too). The other columns
-- of the row are valid. Each case runs in its own subtransaction; "wrote" counts the rows it
-- left behind (an accepted row is then rolled back, so every case starts from the same store).
CREATE TEMP TABLE column_cases (col text, label text, value text, PRIMARY KEY (col, label));
INSERT INTO column_cases
SELECT c.col, v.label, v.value
  FROM unnest(ARRAY['sequence', 'domain', 'edition', 'root', 'event_type', 'payload', 'correlation_id',
                    'idempotency_key', 'created_at', 'id', 'feed_tx', 'global_position']) AS c(col)
 CROSS JOIN LATERAL (VALUES
       ('1 NULL', NULL),
       ('2 empty', ''),
       ('3 over-long', CASE WHEN c.col IN ('sequence', 'feed_tx', 'global_position') THEN repeat('9', 1000)
                            WHEN c.col = 'payload' THEN '\x' || repeat('ff', 1048576)
                            ELSE repeat('x', 1048576) END),
       ('4 malformed', CASE WHEN c.col IN ('sequence', 'feed_tx', 'global_position') THEN '1e3'
                            WHEN c.col IN ('root', 'id') THEN '00000000-0000-0000-0000-00000000000g'
                            WHEN c.col = 'payload' THEN '\xzz'
                            WHEN c.col = 'created_at' THEN '2026-13-45 25:61:00'
                            ELSE E'a/b\x01\n\x7f' END),
       ('5 out of range', CASE WHEN c.col IN ('sequence', 'feed_tx', 'global_position') THEN '-9223372036854775808'
                               WHEN c.col = 'created_at' THEN 'infinity'
                               WHEN c.col IN ('domain', 'edition') THEN repeat('é', 33)
                               WHEN c.col = 'event_type' THEN repeat('t', 513)
                               END)) AS v(label, value)
 WHERE v.label <> '5 out of range' OR v.value IS NOT NULL;
CREATE TEMP TABLE column_outcomes (col text, label text, via text, sqlstate text, message text, wrote bigint,
                                   PRIMARY KEY (col, label, via));
DO $columns$
DECLARE
    c record;
    via text;
    cols text[];
    vals text[];
    i int;
    copy_file text := '/tmp/angzarr_hostile_copy_' || pg_backend_pid();
    st text;
    msg text;
    before bigint;
    wrote bigint;
BEGIN
    FOR c IN SELECT * FROM column_cases ORDER BY col, label LOOP
        -- A valid row for a new aggregate, with the column under test replaced or added.
        cols := ARRAY['domain', 'root', 'event_type', 'payload'];
        vals := ARRAY['hostile', '00000000-0000-0000-0000-000000000009', 'E', '\x'];
        i := array_position(cols, c.col);
        IF i IS NULL THEN
            cols := cols || c.col;
            vals := vals || c.value;
        ELSE
            vals[i] := c.value;
        END IF;
        FOREACH via IN ARRAY ARRAY['COPY', 'INSERT'] LOOP
            before := pg_temp.rows_stored();
            wrote := 0;
            BEGIN
                IF via = 'INSERT' THEN
                    EXECUTE format('INSERT INTO angzarr.events (%s) VALUES (%s)',
                                   (SELECT string_agg(quote_ident(x), ', ') FROM unnest(cols) x),
                                   (SELECT string_agg(quote_nullable(x), ', ') FROM unnest(vals) x));
                ELSE
                    EXECUTE format('COPY (SELECT %s) TO %L',
                                   (SELECT string_agg(quote_nullable(x), ', ') FROM unnest(vals) x), copy_file);
                    EXECUTE format('COPY angzarr.events (%s) FROM %L',
                                   (SELECT string_agg(quote_ident(x), ', ') FROM unnest(cols) x), copy_file);
                END IF;
                wrote := pg_temp.rows_stored() - before;
                RAISE EXCEPTION 'accepted' USING ERRCODE = 'ZZ999';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                IF st = 'ZZ999' THEN
                    st := 'ok';
                    msg := NULL;
                ELSE
                    wrote := pg_temp.rows_stored() - before;
                END IF;
            END;
            INSERT INTO column_outcomes VALUES (c.col, c.label, via, st, left(msg, 90), wrote);
        END LOOP;
    END LOOP;
    EXECUTE format('COPY (SELECT WHERE false) TO %L', copy_file);
END
$columns$;
SELECT col, label, via, sqlstate, message, wrote FROM column_outcomes ORDER BY col, label, via;
-- COPY and INSERT agree, nothing ended in an internal error, and a failed case left no row.
SELECT col, label, array_agg(via || ': ' || sqlstate ORDER BY via) AS disagree
  FROM column_outcomes GROUP BY col, label HAVING count(DISTINCT sqlstate) > 1 ORDER BY col, label;
SELECT count(*) AS internal_errors FROM column_outcomes WHERE sqlstate = 'XX000';
SELECT count(*) AS failed_cases_that_wrote FROM column_outcomes WHERE sqlstate <> 'ok' AND wrote <> 0;

-- A statement that fails on its last row writes none of its rows, and the failure leaves no
-- trace in the next statement (the aggregate still starts at 0).
COPY angzarr.events (domain, root, event_type, payload) FROM stdin (FORMAT csv);
partial,00000000-0000-0000-0000-00000000000a,A,\x
partial,00000000-0000-0000-0000-00000000000a,B,\x
,00000000-0000-0000-0000-00000000000a,C,\x
\.
SELECT count(*) AS rows_after_copy FROM angzarr.events WHERE domain = 'partial';
COPY angzarr.events (domain, root, event_type, payload, sequence) FROM stdin (FORMAT csv);
partial,00000000-0000-0000-0000-00000000000a,A,\x,0
partial,00000000-0000-0000-0000-00000000000a,B,\x,1
partial,00000000-0000-0000-0000-00000000000a,C,\x,1
\.
SELECT count(*) AS rows_after_conflicting_copy FROM angzarr.events WHERE domain = 'partial';
INSERT INTO angzarr.events (domain, root, event_type, payload) VALUES
    ('partial', '00000000-0000-0000-0000-00000000000a', 'A', '\x'),
    ('partial', '00000000-0000-0000-0000-00000000000a', 'B', '\x'),
    ('partial', '00000000-0000-0000-0000-00000000000a', repeat('t', 513), '\x');
SELECT count(*) AS rows_after_insert FROM angzarr.events WHERE domain = 'partial';
SELECT * FROM angzarr.append_events('partial', '00000000-0000-0000-0000-00000000000a',
    ARRAY['A', 'B', ''], ARRAY['\x', '\x', '\x']::bytea[]);
SELECT count(*) AS rows_after_append_events FROM angzarr.events WHERE domain = 'partial';
SELECT * FROM angzarr.append_events('partial', '00000000-0000-0000-0000-00000000000a',
    '[{"type": "A"}, {"type": "B"}, {"type": 7}]');
SELECT count(*) AS rows_after_append_events_json FROM angzarr.events WHERE domain = 'partial';
SELECT * FROM angzarr.append_events('partial', '00000000-0000-0000-0000-00000000000a', '[{"type": "First"}]');
SELECT * FROM angzarr.check_integrity();
