\echo Use "ALTER EXTENSION angzarr_store UPDATE TO '0.3.0'" to load this file. \quit
-- angzarr_store 0.2.0 -> 0.3.0. Each change below says what changed and why; the result must be
-- exactly a fresh 0.3.0 install (scripts/test_upgrade.sh compares the two schemas).

-- ---------------------------------------------------------------------------------------------
-- Performance: append_events(), both forms, is a C-language function (src/append.rs) instead of
-- PL/pgSQL: the same checks, errors and results, with the INSERT through a plan each backend
-- keeps. Its names are qualified, so it needs no SET search_path clause any more.
CREATE OR REPLACE FUNCTION angzarr.append_events(
    domain text,
    root uuid,
    event_types text[],
    payloads bytea[],
    edition text DEFAULT 'angzarr',
    expected_sequence bigint DEFAULT NULL,
    correlation_id text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    created_at timestamptz[] DEFAULT NULL,
    ids uuid[] DEFAULT NULL,
    OUT first_sequence bigint,
    OUT last_sequence bigint)
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'append_events_wrapper';

CREATE OR REPLACE FUNCTION angzarr.append_events(
    domain text,
    root uuid,
    events jsonb,
    edition text DEFAULT 'angzarr',
    expected_sequence bigint DEFAULT NULL,
    correlation_id text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    created_at timestamptz[] DEFAULT NULL,
    ids uuid[] DEFAULT NULL,
    OUT first_sequence bigint,
    OUT last_sequence bigint)
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'append_events_json_wrapper';
