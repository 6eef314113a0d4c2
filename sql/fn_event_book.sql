COMMENT ON FUNCTION angzarr._decode_event_book(bytea) IS
    'Internal: one row per page of an encoded EventBook; raises 22P03 for bytes that are not one.';
COMMENT ON FUNCTION angzarr._encode_event_book(text, text, uuid, bigint, bigint[], text[], bytea[],
        timestamptz[], bigint, text, bytea, text, text, text[], bigint[]) IS
    'Internal: encodes an aggregate''s history or a batch to append (parallel arrays plus optional snapshot) as an EventBook; a NULL sequence is a page without one.';
COMMENT ON FUNCTION angzarr.event_book_to_json(bytea) IS
    'Shows an encoded EventBook as JSON: cover, snapshot, pages (payload as JSON or its size), next_sequence.';

-- Appends the pages of an encoded angzarr EventBook (protobuf) to the aggregate its cover
-- names, atomically, and returns the sequences they got. A page header's sequence is the
-- sequence that page must get (ZA001 otherwise); pages without one continue the aggregate.
-- Page created_at is kept when set. The book's snapshot and next_sequence are ignored.
-- idempotency_key works as in angzarr.append_events().
CREATE FUNCTION angzarr.append_event_book(
    book bytea,
    idempotency_key text DEFAULT NULL,
    OUT first_sequence bigint,
    OUT last_sequence bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_key text := nullif(append_event_book.idempotency_key, '');
    v_domain text;
    v_edition text;
    v_root uuid;
    v_correlation text;
    v_sequences bigint[];
    v_types text[];
    v_payloads bytea[];
    v_created timestamptz[];
BEGIN
    IF book IS NULL THEN
        RAISE EXCEPTION 'book must not be NULL'
            USING ERRCODE = '23502', HINT = 'Pass the bytes of an encoded angzarr.EventBook.';
    END IF;
    -- Decoding refuses a bad book before anything is written.
    SELECT min(d.domain), min(d.edition), min(d.root::text)::uuid, min(d.correlation_id),
           array_agg(d.sequence ORDER BY d.n), array_agg(d.event_type ORDER BY d.n),
           array_agg(d.payload ORDER BY d.n), array_agg(d.created_at ORDER BY d.n)
      INTO v_domain, v_edition, v_root, v_correlation, v_sequences, v_types, v_payloads, v_created
      FROM angzarr._decode_event_book(book)
           WITH ORDINALITY AS d(domain, edition, root, correlation_id, sequence, event_type, payload,
                                created_at, n);
    IF v_key IS NOT NULL THEN
        PERFORM angzarr._lock_aggregate(v_domain, v_edition, v_root);
        SELECT r.first_sequence, r.last_sequence INTO first_sequence, last_sequence
          FROM angzarr._idempotent_range(v_domain, angzarr._edition(v_edition), v_root, v_key) r;
        IF first_sequence IS NOT NULL THEN
            RETURN;
        END IF;
    END IF;
    WITH appended AS (
        INSERT INTO angzarr.events (domain, edition, root, sequence, event_type, payload,
                                    correlation_id, idempotency_key, created_at)
        SELECT v_domain, v_edition, v_root, u.sequence, u.event_type, u.payload, v_correlation,
               v_key, coalesce(u.created_at, now())
          FROM unnest(v_sequences, v_types, v_payloads, v_created)
               WITH ORDINALITY AS u(sequence, event_type, payload, created_at, n)
         ORDER BY u.n
        RETURNING sequence)
    SELECT min(a.sequence), max(a.sequence) INTO first_sequence, last_sequence FROM appended a;
END
$$;
COMMENT ON FUNCTION angzarr.append_event_book(bytea, text) IS
    'Appends the pages of an encoded angzarr EventBook; page header sequences are checked (ZA001). Returns the sequence range.';

-- An aggregate's history as an encoded angzarr EventBook: the newest usable snapshot, the
-- pages after it (each with its sequence in the header), and next_sequence. Reads like
-- angzarr.load_aggregate(); a new aggregate gives a book with no pages and next_sequence 0.
CREATE FUNCTION angzarr.read_event_book(
    domain text,
    root uuid,
    edition text DEFAULT 'angzarr',
    use_snapshot boolean DEFAULT true)
RETURNS bytea
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT angzarr._encode_event_book(
        $1, angzarr._edition($3), $2,
        angzarr.next_sequence($1, $2, $3),
        array_agg(l.sequence ORDER BY l.sequence) FILTER (WHERE l.kind = 'event'),
        array_agg(l.type ORDER BY l.sequence) FILTER (WHERE l.kind = 'event'),
        array_agg(l.data ORDER BY l.sequence) FILTER (WHERE l.kind = 'event'),
        array_agg(l.created_at ORDER BY l.sequence) FILTER (WHERE l.kind = 'event'),
        min(l.sequence) FILTER (WHERE l.kind = 'snapshot'),
        min(l.type) FILTER (WHERE l.kind = 'snapshot'),
        (array_agg(l.data) FILTER (WHERE l.kind = 'snapshot'))[1],
        min(l.retention::text) FILTER (WHERE l.kind = 'snapshot'),
        NULL,
        (SELECT array_agg(d.domain ORDER BY d.domain) FROM angzarr.edition_divergences d
          WHERE d.edition = angzarr._edition($3)),
        (SELECT array_agg(d.sequence ORDER BY d.domain) FROM angzarr.edition_divergences d
          WHERE d.edition = angzarr._edition($3)))
      FROM angzarr.load_aggregate($1, $2, $3, $4) l;
END;
COMMENT ON FUNCTION angzarr.read_event_book(text, uuid, text, boolean) IS
    'An aggregate''s history (newest snapshot, later pages, next_sequence) as an encoded angzarr EventBook.';

-- angzarr's get_by_correlation: one encoded EventBook per aggregate that has events with the
-- correlation id (cover.correlation_id set), ordered by domain, edition, root.
CREATE FUNCTION angzarr.read_correlation_books(correlation_id text)
RETURNS SETOF bytea
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT angzarr._encode_event_book(
               c.domain, c.edition, c.root, max(c.sequence) + 1,
               array_agg(c.sequence ORDER BY c.sequence), array_agg(c.event_type ORDER BY c.sequence),
               array_agg(c.payload ORDER BY c.sequence), array_agg(c.created_at ORDER BY c.sequence),
               correlation_id => $1)
      FROM angzarr.read_correlation($1) c
     GROUP BY c.domain, c.edition, c.root
     ORDER BY c.domain, c.edition, c.root;
END;
COMMENT ON FUNCTION angzarr.read_correlation_books(text) IS
    'All events with a correlation id as encoded EventBooks, one per aggregate.';
