-- How the router serves each function of the store's API: the one declarative list the router
-- is generated from (shard/generate_router.sql). Every public function of schema angzarr (no
-- leading underscore) must have exactly one row, and every row must name such a function: the
-- generator refuses to run otherwise, so a new API function cannot ship without a routing rule.
--
-- rule:
--   aggregate        runs on the shard owning (domain, root): angzarr_router.shard_hash()
--   aggregate_write  the same, as the router transaction's one write (ZA101 for a second)
--   book_write       append_event_book: routed by the book's cover (domain, root), as a write
--   any              pure function of its arguments: any shard answers
--   all / all_write  runs on every shard in parallel; merge combines the rows, where %rows% is
--                    the set of all shards' rows (columns as the function returns them, or as
--                    inner_result says when inner_select reshapes them)
--   per_shard        has no meaning across shards (the feed): refused with ZA102; use
--                    angzarr_shard.<name>(shard, ...), generated for every function
CREATE TEMP TABLE routing (
    name text PRIMARY KEY,
    rule text NOT NULL CHECK (rule IN ('aggregate', 'aggregate_write', 'book_write', 'any', 'all',
                                       'all_write', 'per_shard')),
    merge text CHECK ((merge IS NOT NULL) = (rule IN ('all', 'all_write'))),
    inner_result text,
    inner_select text);

INSERT INTO routing (name, rule, merge, inner_result, inner_select) VALUES
    ('append_events', 'aggregate_write', NULL, NULL, NULL),
    ('append_event_book', 'book_write', NULL, NULL, NULL),
    ('put_snapshot', 'aggregate_write', NULL, NULL, NULL),
    ('delete_snapshots', 'aggregate_write', NULL, NULL, NULL),
    ('save_position', 'aggregate_write', NULL, NULL, NULL),
    ('read_stream', 'aggregate', NULL, NULL, NULL),
    ('read_as_of_sequence', 'aggregate', NULL, NULL, NULL),
    ('read_as_of_time', 'aggregate', NULL, NULL, NULL),
    ('load_aggregate', 'aggregate', NULL, NULL, NULL),
    ('read_event_book', 'aggregate', NULL, NULL, NULL),
    ('show_stream', 'aggregate', NULL, NULL, NULL),
    ('next_sequence', 'aggregate', NULL, NULL, NULL),
    ('get_snapshot', 'aggregate', NULL, NULL, NULL),
    ('get_position', 'aggregate', NULL, NULL, NULL),
    ('aggregate_lock_key', 'aggregate', NULL, NULL, NULL),
    ('payload_json', 'any', NULL, NULL, NULL),
    ('event_book_to_json', 'any', NULL, NULL, NULL),
    -- Consumer-group membership is a pure function of the aggregate; groups over a sharded
    -- store can also give each member whole shards (client/src/shard_feed.rs).
    ('feed_member', 'any', NULL, NULL, NULL),
    -- Only builds the statement text; run the statement on every shard (each has its own feed).
    ('feed_group_index_sql', 'any', NULL, NULL, NULL),
    ('list_domains', 'all', 'SELECT DISTINCT r.domain FROM %rows% r ORDER BY 1', NULL, NULL),
    ('list_roots', 'all', 'SELECT DISTINCT r.root FROM %rows% r ORDER BY 1', NULL, NULL),
    ('read_correlation', 'all',
     'SELECT r.* FROM %rows% r ORDER BY r.domain, r.edition, r.root, r.sequence', NULL, NULL),
    -- The books come with their cover's key so that the merge orders them as one store would.
    ('read_correlation_books', 'all', 'SELECT r.book FROM %rows% r ORDER BY r.domain, r.edition, r.root',
     'TABLE(domain text, edition text, root uuid, book bytea)',
     'SELECT c.domain, c.edition, c.root, b.b AS book FROM angzarr.read_correlation_books(correlation_id) AS b(b) CROSS JOIN LATERAL (SELECT d.domain, d.edition, d.root FROM angzarr._decode_event_book(b.b) d LIMIT 1) c'),
    ('check_integrity', 'all', 'SELECT r.* FROM %rows% r ORDER BY 1, 2, 3, 4, 5', NULL, NULL),
    -- An edition exists on every shard (its definition is copied to each); its events are
    -- spread like main's.
    ('list_editions', 'all',
     'SELECT r.name, bool_or(r.created), (array_agg(r.divergences) FILTER (WHERE r.divergences IS NOT NULL))[1], max(r.diverged_at), sum(r.event_count)::bigint, min(r.created_at) FROM %rows% r GROUP BY r.name ORDER BY 1',
     NULL, NULL),
    ('create_edition', 'all_write', 'SELECT count(*) FROM %rows% r', 'SETOF integer',
     'SELECT 1 FROM angzarr.create_edition(name, divergences, diverged_at)'),
    ('discard_edition', 'all_write', 'SELECT sum(r.n)::bigint FROM %rows% r', 'TABLE(n bigint)',
     'SELECT angzarr.discard_edition(name)'),
    ('reset_positions', 'all_write', 'SELECT sum(r.n)::bigint FROM %rows% r', 'TABLE(n bigint)',
     'SELECT angzarr.reset_positions(handler, domain)'),
    ('read_feed', 'per_shard', NULL, NULL, NULL),
    ('feed_horizon', 'per_shard', NULL, NULL, NULL),
    ('feed_lag', 'per_shard', NULL, NULL, NULL),
    ('save_feed_position', 'per_shard', NULL, NULL, NULL),
    ('get_feed_position', 'per_shard', NULL, NULL, NULL),
    ('advance_feed_clock', 'per_shard', NULL, NULL, NULL);
