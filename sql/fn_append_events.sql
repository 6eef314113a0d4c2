-- Appends a batch of binary events to one aggregate atomically and returns the sequences it got.
-- edition: the timeline (main when omitted). expected_sequence: the next sequence the caller
-- believes the aggregate has (0 = must be new, NULL = any). idempotency_key: a repeated append
-- with the same key returns the first range. created_at and ids: optional per-event times and
-- event ids (same length as the batch). An empty batch writes nothing, returns NULLs, and still
-- checks expected_sequence.
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
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_edition text := angzarr._edition(append_events.edition);
    v_key text := nullif(append_events.idempotency_key, '');
BEGIN
    IF event_types IS NULL OR payloads IS NULL THEN
        RAISE EXCEPTION 'event_types and payloads must not be NULL'
            USING ERRCODE = '22004',
                  HINT = 'Pass one event type and one payload per event; empty arrays append nothing.';
    END IF;
    IF array_ndims(event_types) > 1 OR array_ndims(payloads) > 1
       OR array_ndims(append_events.created_at) > 1 OR array_ndims(ids) > 1 THEN
        RAISE EXCEPTION 'event_types, payloads, created_at and ids must be one-dimensional arrays'
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
    IF append_events.created_at IS NOT NULL
       AND cardinality(append_events.created_at) <> cardinality(event_types) THEN
        RAISE EXCEPTION 'append_events got % events but % created_at values',
            cardinality(event_types), cardinality(append_events.created_at)
            USING ERRCODE = '22023', HINT = 'Pass one time per event (NULL for the transaction''s time), or no created_at.';
    END IF;
    IF ids IS NOT NULL AND cardinality(ids) <> cardinality(event_types) THEN
        RAISE EXCEPTION 'append_events got % events but % ids', cardinality(event_types), cardinality(ids)
            USING ERRCODE = '22023', HINT = 'Pass one id per event, or no ids.';
    END IF;
    IF array_position(ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'id % of the batch is NULL', array_position(ids, NULL)
            USING ERRCODE = '22004', HINT = 'Pass an id for every event, or no ids at all.';
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
    IF cardinality(event_types) = 0 THEN
        -- Nothing to write; the expectation is checked (and the aggregate locked) all the same.
        IF expected_sequence IS NOT NULL THEN
            PERFORM angzarr._check_next_sequence(append_events.domain, v_edition, append_events.root,
                                                 expected_sequence);
        END IF;
        RETURN;
    END IF;
    IF expected_sequence IS NOT NULL THEN
        PERFORM angzarr._expect_next_sequence(append_events.domain, v_edition, append_events.root,
                                              expected_sequence);
    END IF;
    -- created_at and ids may be NULL arrays: unnest then gives NULLs (the transaction's time,
    -- and an id the trigger draws).
    WITH appended AS (
        INSERT INTO angzarr.events (domain, edition, root, event_type, payload, correlation_id, idempotency_key,
                                    created_at, id)
        SELECT append_events.domain, v_edition, append_events.root, u.event_type, u.payload,
               append_events.correlation_id, v_key, coalesce(u.created_at, now()), u.id
          FROM unnest(event_types, payloads, append_events.created_at, ids)
               WITH ORDINALITY AS u(event_type, payload, created_at, id, n)
         ORDER BY u.n
        RETURNING sequence)
    SELECT min(a.sequence), max(a.sequence) INTO first_sequence, last_sequence FROM appended a;
END
$$;
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
    SELECT coalesce(array_agg(e ->> 'type' ORDER BY n), '{}'),
           coalesce(array_agg(convert_to(coalesce(e -> 'payload', 'null'::jsonb)::text, 'UTF8') ORDER BY n), '{}')
      INTO v_types, v_payloads
      FROM jsonb_array_elements(events) WITH ORDINALITY AS x(e, n);
    SELECT a.first_sequence, a.last_sequence INTO first_sequence, last_sequence
      FROM angzarr.append_events(domain, root, v_types, v_payloads, edition => edition,
                                 expected_sequence => expected_sequence, correlation_id => correlation_id,
                                 idempotency_key => idempotency_key, created_at => created_at, ids => ids) a;
END
$$;
COMMENT ON FUNCTION angzarr.append_events(text, uuid, jsonb, text, bigint, text, text, timestamptz[], uuid[]) IS
    'Appends JSON events ([{"type": ..., "payload": ...}]) to one aggregate; returns the assigned sequence range (NULLs for an empty array).';
