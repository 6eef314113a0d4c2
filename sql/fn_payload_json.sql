-- Lets psql users and views read JSON payloads as jsonb, digit for digit; binary payloads give
-- NULL. Implemented in C-convention Rust (src/payload_json.rs) to hand back PostgreSQL's own
-- jsonb datum.
CREATE FUNCTION angzarr.payload_json(payload bytea)
RETURNS jsonb
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'payload_json_wrapper';
COMMENT ON FUNCTION angzarr.payload_json(bytea) IS
    'The payload as jsonb when it is UTF-8 JSON text, else NULL.';
