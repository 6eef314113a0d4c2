-- The rows of one table of an old shard that move to shard :target when the deployment grows to
-- :mask + 1 shards, for COPY ... TO STDOUT (scripts/shard_split.sh). The predicate is the
-- router's hash (angzarr_router.shard_hash in shard/router_base.sql: it must stay the same
-- expression), written out because the shards do not have the router's schema.
-- psql variables: table (events, snapshots or positions), order (a column list), mask, target.
COPY (SELECT t.* FROM angzarr.:table t
       WHERE (('x' || left(md5(t.domain || ':' || t.root::text), 8))::bit(32)::integer & :mask) = :target
       ORDER BY :order) TO STDOUT
