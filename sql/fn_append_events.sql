-- Appends a batch of binary events to one aggregate atomically and returns the sequences it got.
-- edition: the timeline (main when omitted). expected_sequence: the next sequence the caller
-- believes the aggregate has (0 = must be new, NULL = any). idempotency_key: a repeated append
-- with the same key returns the first range. created_at and ids: optional per-event times and
-- event ids (same length as the batch). An empty batch writes nothing, returns NULLs, and still
-- checks expected_sequence. Implemented in Rust (src/append.rs): the checks, the expectation
-- and an INSERT through a plan each backend keeps; the trigger stamps the rows as for any INSERT.
CREATE FUNCTION angzarr.append_events(
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
COMMENT ON FUNCTION angzarr.append_events(text, uuid, text[], bytea[], text, bigint, text, text, timestamptz[], uuid[]) IS
    'Appends binary events to one aggregate; returns the assigned sequence range (NULLs for an empty batch). Raises ZA001 when expected_sequence is stale.';

-- The JSON flavour: events is a JSON array of {"type": ..., "payload": ...}; each payload is
-- stored as its JSON text in UTF-8 and reads back with angzarr.payload_json(). The other
-- arguments mean what they mean for the binary form.
CREATE FUNCTION angzarr.append_events(
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
COMMENT ON FUNCTION angzarr.append_events(text, uuid, jsonb, text, bigint, text, text, timestamptz[], uuid[]) IS
    'Appends JSON events ([{"type": ..., "payload": ...}]) to one aggregate; returns the assigned sequence range (NULLs for an empty array).';
