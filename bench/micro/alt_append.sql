-- Alternative append wrappers, for comparison with angzarr.append_events (micro.sh only; not
-- part of the extension). append_events_sql passes the expectation as explicit sequences, which
-- the trigger checks, in one LANGUAGE sql statement without SET search_path.
CREATE SCHEMA bench_alt;
CREATE FUNCTION bench_alt.append_events_sql(
    domain text, root uuid, event_types text[], payloads bytea[], expected_sequence bigint DEFAULT NULL,
    OUT first_sequence bigint, OUT last_sequence bigint)
LANGUAGE sql VOLATILE AS $$
    WITH appended AS (
        INSERT INTO angzarr.events (sequence, domain, root, event_type, payload)
        SELECT $5 + u.n - 1, $1, $2, u.t, u.p
          FROM unnest($3, $4) WITH ORDINALITY AS u(t, p, n)
        RETURNING sequence)
    SELECT min(a.sequence), max(a.sequence) FROM appended a
$$;

-- The least a PL/pgSQL wrapper can do: explicit sequences (checked by the trigger), one INSERT,
-- no RETURNING; the range is computed. An upper bound on what slimming append_events buys.
CREATE FUNCTION bench_alt.append_events_min(
    domain text, root uuid, event_types text[], payloads bytea[], expected_sequence bigint,
    OUT first_sequence bigint, OUT last_sequence bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO angzarr.events (sequence, domain, root, event_type, payload)
    SELECT expected_sequence + u.n - 1, append_events_min.domain, append_events_min.root, u.t, u.p
      FROM unnest(event_types, payloads) WITH ORDINALITY AS u(t, p, n);
    first_sequence := expected_sequence;
    last_sequence := expected_sequence + cardinality(event_types) - 1;
END
$$;
