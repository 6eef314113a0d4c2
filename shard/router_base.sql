-- The router database's own objects: PL/Proxy, the shard map, the routing hash and the guards
-- the generated functions (shard/generate_router.sql) call. Run once per router database by
-- scripts/shard.sh, before the generated functions; it is idempotent.
\set ON_ERROR_STOP 1
CREATE EXTENSION IF NOT EXISTS plproxy;
-- PL/Proxy looks its cluster configuration functions up in schema plproxy.
CREATE SCHEMA IF NOT EXISTS plproxy;
CREATE SCHEMA IF NOT EXISTS angzarr_router;
-- The API keeps its names: callers use angzarr.append_events() on the router as on a shard.
CREATE SCHEMA IF NOT EXISTS angzarr;
-- Per-shard entry points (the feed, the feed clock): angzarr_shard.read_feed(shard, ...).
CREATE SCHEMA IF NOT EXISTS angzarr_shard;

-- The shard map: one libpq connection string per shard, in shard order. A power of two rows:
-- PL/Proxy maps a hash to shard (hash & (count - 1)), so going from N to 2N shards splits
-- each shard k into k and k + N (docs/src/operations/sharding.md, "Growing from N to 2N").
CREATE TABLE IF NOT EXISTS angzarr_router.shards (
    shard integer PRIMARY KEY CHECK (shard >= 0),
    connstr text NOT NULL);
-- Bumped by every change to angzarr_router.shards: PL/Proxy reloads the map when it grows.
CREATE SEQUENCE IF NOT EXISTS angzarr_router.shards_version;

CREATE OR REPLACE FUNCTION angzarr_router._shards_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('angzarr_router.shards_version');
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER shards_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON angzarr_router.shards FOR EACH STATEMENT EXECUTE FUNCTION angzarr_router._shards_changed();

-- PL/Proxy's cluster configuration API, answered from angzarr_router.shards. The one cluster
-- is called 'angzarr'.
CREATE OR REPLACE FUNCTION plproxy.get_cluster_version(cluster_name text) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF cluster_name <> 'angzarr' THEN
        RAISE EXCEPTION 'unknown PL/Proxy cluster "%"', cluster_name
            USING ERRCODE = '42704', HINT = 'The router has one cluster, ''angzarr''.';
    END IF;
    RETURN (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM angzarr_router.shards_version);
END
$$;

CREATE OR REPLACE FUNCTION plproxy.get_cluster_partitions(cluster_name text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    v_count integer := (SELECT count(*) FROM angzarr_router.shards);
BEGIN
    IF v_count = 0 OR v_count & (v_count - 1) <> 0
       OR v_count <> (SELECT max(shard) + 1 FROM angzarr_router.shards) THEN
        RAISE EXCEPTION 'the shard map has % shards, numbered 0..%', v_count,
            coalesce((SELECT max(shard) FROM angzarr_router.shards)::text, '-')
            USING ERRCODE = '55000',
                  HINT = 'angzarr_router.shards needs a power of two rows numbered from 0 without gaps.';
    END IF;
    RETURN QUERY SELECT s.connstr FROM angzarr_router.shards s ORDER BY s.shard;
END
$$;

CREATE OR REPLACE FUNCTION plproxy.get_cluster_config(cluster_name text, OUT key text, OUT val text)
RETURNS SETOF record
LANGUAGE sql AS $$
    -- A shard that stops answering fails the call after a minute instead of hanging the router.
    SELECT 'query_timeout'::text, '60'::text;
$$;

-- The routing hash of an aggregate: the first 32 bits of md5(domain || ':' || root), as a
-- signed integer. The edition is not part of it, so an edition lives on the shard of its main
-- timeline (its composite reads need main's events). md5 is fixed by RFC 1321 and root::text is
-- PostgreSQL's canonical lower-case UUID form, so the value does not depend on the PostgreSQL
-- version or the CPU (hashtext() may change between major versions and differs by byte
-- order). It must never change: it decides where every existing aggregate lives. The client
-- computes the same value (client/src/shard.rs).
CREATE OR REPLACE FUNCTION angzarr_router.shard_hash(domain text, root uuid) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ('x' || left(md5(domain || ':' || root::text), 8))::bit(32)::integer;
COMMENT ON FUNCTION angzarr_router.shard_hash(text, uuid) IS
    'The routing hash of an aggregate (first 32 bits of md5(domain:root)); shard = hash & (shards - 1). Never changes.';

-- The shard that owns an aggregate under the current map.
CREATE OR REPLACE FUNCTION angzarr_router.shard_of(domain text, root uuid) RETURNS integer
LANGUAGE sql STABLE STRICT
RETURN angzarr_router.shard_hash(domain, root) & ((SELECT count(*)::integer FROM angzarr_router.shards) - 1);
COMMENT ON FUNCTION angzarr_router.shard_of(text, uuid) IS
    'The shard number that owns (domain, root) under the current shard map.';

-- RUN ON for reads: the hash, after refusing what has no shard (NULL domain or root would
-- otherwise all land on one shard, which then answers with its own NULL error anyway).
CREATE OR REPLACE FUNCTION angzarr_router.read_hash(domain text, root uuid) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(angzarr_router.shard_hash(domain, root), 0);

-- RUN ON for writes. PL/Proxy runs each call in its own transaction on the shard, committed
-- when the call returns: a router transaction cannot make two writes atomic, nor roll one back.
-- So a router transaction may write once; a second write is refused (ZA101) before it is
-- sent, instead of leaving the first committed and the caller believing in atomicity. The
-- note is transaction-local (set_config(..., true)), so it ends with the router transaction.
CREATE OR REPLACE FUNCTION angzarr_router.write_hash(domain text, root uuid, what text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_hash integer := angzarr_router.read_hash(domain, root);
    v_shards integer := (SELECT count(*) FROM angzarr_router.shards);
    v_target text := CASE WHEN domain IS NULL OR root IS NULL THEN 'all shards'
                          ELSE format('%s/%s on shard %s', domain, root, v_hash & (v_shards - 1)) END;
    v_first text := nullif(current_setting('angzarr_router.written', true), '');
BEGIN
    IF v_first IS NOT NULL THEN
        RAISE EXCEPTION 'a transaction through the router writes once: % after %', what, v_first
            USING ERRCODE = 'ZA101',
                  DETAIL = format('This call writes %s; this transaction already wrote %s, committed on its shard when that call returned.',
                                  v_target, v_first),
                  HINT = 'Through the router every write commits on its own. For atomic writes to several aggregates connect to their shard (all must live on one shard), or make each write its own transaction.';
    END IF;
    PERFORM set_config('angzarr_router.written', format('%s (%s)', what, v_target), true);
    RETURN v_hash;
END
$$;

-- The cover of an EventBook (its domain and root), decoded by a shard's own decoder so that the
-- router routes a book exactly as the store reads it. Any shard will do.
CREATE OR REPLACE FUNCTION angzarr_router.book_cover(book bytea, OUT domain text, OUT root uuid)
LANGUAGE plproxy AS $$
    CLUSTER 'angzarr';
    RUN ON ANY;
    SELECT d.domain, d.root FROM angzarr._decode_event_book(book) d LIMIT 1;
$$;

-- RUN ON for append_event_book: the hash of the book's cover, as a write. A NULL book goes to
-- one shard, which refuses it with its own error.
CREATE OR REPLACE FUNCTION angzarr_router.book_write_hash(book bytea) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_cover record;
BEGIN
    IF book IS NULL THEN
        RETURN 0;
    END IF;
    SELECT * INTO v_cover FROM angzarr_router.book_cover(book);
    RETURN angzarr_router.write_hash(v_cover.domain, v_cover.root, 'append_event_book');
END
$$;

-- Body of the API functions the router cannot serve as themselves (per-shard ones: the feed).
CREATE OR REPLACE FUNCTION angzarr_router.refuse_per_shard(what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%() is per shard and has no meaning through the router', what
        USING ERRCODE = 'ZA102',
              DETAIL = 'Each shard keeps its own feed (its own positions and clock); there is no global order across shards.',
              HINT = format('Call angzarr_shard.%s(shard, ...) for each shard 0..%s, or connect to the shards; a sharded consumer keeps one checkpoint per shard.',
                            what, (SELECT count(*) - 1 FROM angzarr_router.shards));
END
$$;

-- RUN ON for angzarr_shard.*(shard, ...): the shard number itself, once it is one.
CREATE OR REPLACE FUNCTION angzarr_router.check_shard(shard integer) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_shards integer := (SELECT count(*) FROM angzarr_router.shards);
BEGIN
    IF shard IS NULL OR shard < 0 OR shard >= v_shards THEN
        RAISE EXCEPTION 'no shard %', coalesce(shard::text, 'NULL')
            USING ERRCODE = '22023', DETAIL = format('The shard map has shards 0..%s.', v_shards - 1),
                  HINT = 'Pass a shard number from angzarr_router.shards.';
    END IF;
    RETURN shard;
END
$$;

-- Any role may call the router: PL/Proxy connects to the shards as the calling role, so each
-- shard's own grants (angzarr_reader, angzarr_writer, angzarr_admin) decide what it may do. The
-- map and its version are read while routing, and by clients that route themselves; they hold
-- no secrets (passwords belong in ~/.pgpass or a pooler, never in connstr).
GRANT USAGE ON SCHEMA plproxy, angzarr_router, angzarr, angzarr_shard TO PUBLIC;
GRANT SELECT ON angzarr_router.shards, angzarr_router.shards_version TO PUBLIC;
