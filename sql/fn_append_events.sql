-- Appends a batch of binary events to one aggregate atomically and returns the sequences it got.
-- expected_sequence: the next sequence the caller believes the aggregate has (0 = must be new,
-- NULL = any). idempotency_key: a repeated append with the same key returns the first range.
CREATE FUNCTION angzarr.append_events(
    domain text,
    root uuid,
    event_types text[],
    payloads bytea[],
    expected_sequence bigint DEFAULT NULL,
    edition text DEFAULT 'angzarr',
    correlation_id text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    OUT first_sequence bigint,
    OUT last_sequence bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_edition text := angzarr._edition(append_events.edition);
    v_key text := nullif(append_events.idempotency_key, '');
BEGIN
    IF coalesce(cardinality(event_types), 0) = 0 THEN
        RAISE EXCEPTION 'append_events needs at least one event'
            USING ERRCODE = '22023', HINT = 'Pass one event type and one payload per event.';
    END IF;
    IF array_ndims(event_types) > 1 OR array_ndims(payloads) > 1 THEN
        RAISE EXCEPTION 'event_types and payloads must be one-dimensional arrays'
            USING ERRCODE = '22023', HINT = 'Pass ARRAY[''A'', ''B''], not ARRAY[[''A''], [''B'']].';
    END IF;
    IF octet_length(append_events.correlation_id) > 1024 OR octet_length(v_key) > 1024 THEN
        RAISE EXCEPTION 'correlation_id and idempotency_key are limited to 1024 bytes'
            USING ERRCODE = '22001',
                  DETAIL = format('correlation_id has %s bytes, idempotency_key %s.',
                                  coalesce(octet_length(append_events.correlation_id), 0),
                                  coalesce(octet_length(v_key), 0)),
                  HINT = 'Use an identifier such as a UUID, not the content itself.';
    END IF;
    IF cardinality(event_types) IS DISTINCT FROM cardinality(payloads) THEN
        RAISE EXCEPTION 'append_events got % event types but % payloads',
            cardinality(event_types), coalesce(cardinality(payloads), 0)
            USING ERRCODE = '22023', HINT = 'Pass one payload per event type.';
    END IF;
    IF array_position(payloads, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'payload % of the batch is NULL', array_position(payloads, NULL)
            USING ERRCODE = '22004', HINT = 'Pass an empty bytea (''\x'') for an event without payload.';
    END IF;
    IF '' = ANY (event_types) OR array_position(event_types, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'every event needs a non-empty event type'
            USING ERRCODE = '22023', HINT = 'Name the event, e.g. ''FundsDeposited''.';
    END IF;
    IF v_key IS NOT NULL THEN
        -- Serialise with other writers of this aggregate first, so a concurrent repeat of the
        -- same append sees the committed original.
        PERFORM angzarr._lock_aggregate(append_events.domain, v_edition, append_events.root);
        SELECT r.first_sequence, r.last_sequence INTO first_sequence, last_sequence
          FROM angzarr._idempotent_range(append_events.domain, v_edition, append_events.root, v_key) r;
        IF first_sequence IS NOT NULL THEN
            RETURN;
        END IF;
    END IF;
    IF expected_sequence IS NOT NULL THEN
        PERFORM angzarr._expect_next_sequence(append_events.domain, v_edition, append_events.root,
                                              expected_sequence);
    END IF;
    WITH appended AS (
        INSERT INTO angzarr.events (domain, edition, root, event_type, payload, correlation_id, idempotency_key)
        SELECT append_events.domain, v_edition, append_events.root, u.event_type, u.payload,
               append_events.correlation_id, v_key
          FROM unnest(event_types, payloads) WITH ORDINALITY AS u(event_type, payload, n)
         ORDER BY u.n
        RETURNING sequence)
    SELECT min(a.sequence), max(a.sequence) INTO first_sequence, last_sequence FROM appended a;
END
$$;
COMMENT ON FUNCTION angzarr.append_events(text, uuid, text[], bytea[], bigint, text, text, text) IS
    'Appends binary events to one aggregate; returns the assigned sequence range. Raises ZA001 when expected_sequence is stale.';

-- The JSON flavour: events is a JSON array of {"type": ..., "payload": ...}; each payload is
-- stored as its JSON text in UTF-8 and reads back with angzarr.payload_json().
CREATE FUNCTION angzarr.append_events(
    domain text,
    root uuid,
    events jsonb,
    expected_sequence bigint DEFAULT NULL,
    edition text DEFAULT 'angzarr',
    correlation_id text DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    OUT first_sequence bigint,
    OUT last_sequence bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_types text[];
    v_payloads bytea[];
BEGIN
    IF jsonb_typeof(events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'events must be a JSON array, got %', coalesce(jsonb_typeof(events), 'NULL')
            USING ERRCODE = '22023', HINT = 'Pass ''[{"type": "Deposited", "payload": {"amount": 10}}]''.';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(events) e
                WHERE jsonb_typeof(e) <> 'object' OR jsonb_typeof(e -> 'type') IS DISTINCT FROM 'string') THEN
        RAISE EXCEPTION 'every event must be a JSON object with a string "type"'
            USING ERRCODE = '22023', HINT = 'Pass ''[{"type": "Deposited", "payload": {"amount": 10}}]''.';
    END IF;
    SELECT array_agg(e ->> 'type' ORDER BY n),
           array_agg(convert_to(coalesce(e -> 'payload', 'null'::jsonb)::text, 'UTF8') ORDER BY n)
      INTO v_types, v_payloads
      FROM jsonb_array_elements(events) WITH ORDINALITY AS x(e, n);
    SELECT a.first_sequence, a.last_sequence INTO first_sequence, last_sequence
      FROM angzarr.append_events(domain, root, v_types, v_payloads, expected_sequence, edition,
                                 correlation_id, idempotency_key) a;
END
$$;
COMMENT ON FUNCTION angzarr.append_events(text, uuid, jsonb, bigint, text, text, text) IS
    'Appends JSON events ([{"type": ..., "payload": ...}]) to one aggregate; returns the assigned sequence range.';
