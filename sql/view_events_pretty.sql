-- Events as a person wants to read them in psql: the payload as JSON when it is JSON text,
-- otherwise its size, instead of a wall of hex.
CREATE FUNCTION angzarr._payload_text(payload bytea)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(angzarr.payload_json($1)::text,
                    format('(%s %s)', octet_length($1), CASE octet_length($1) WHEN 1 THEN 'byte' ELSE 'bytes' END));
END;
COMMENT ON FUNCTION angzarr._payload_text(bytea) IS
    'Internal: a payload as JSON text when it is JSON, else "(N bytes)".';

-- Every stored event, readable; filter it like the table (WHERE domain = ... AND root = ...).
CREATE VIEW angzarr.events_pretty AS
SELECT e.domain,
       e.edition,
       e.root,
       e.sequence,
       e.event_type,
       e.created_at,
       e.correlation_id,
       angzarr._payload_text(e.payload) AS payload
  FROM angzarr.events e;
COMMENT ON VIEW angzarr.events_pretty IS
    'angzarr.events for people: payload shown as JSON when it is JSON, else as its size.';

-- One aggregate's history, readable, as the edition sees it (composite on named editions).
CREATE FUNCTION angzarr.show_stream(domain text, root uuid, edition text DEFAULT 'angzarr')
RETURNS TABLE (
    sequence bigint,
    event_type text,
    created_at timestamptz,
    correlation_id text,
    payload text,
    stored_in text)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT s.sequence, s.event_type, s.created_at, s.correlation_id,
           angzarr._payload_text(s.payload), s.edition
      FROM angzarr.read_stream($1, $2, $3) s
     ORDER BY s.sequence;
END;
COMMENT ON FUNCTION angzarr.show_stream(text, uuid, text) IS
    'One aggregate''s events for reading in psql: payload as JSON or its size; stored_in tells main from edition events.';
