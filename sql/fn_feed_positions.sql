-- Stores a consumer's feed checkpoint; it only ever moves forward, so a late or repeated save
-- from a slower replica of the consumer is a harmless no-op. Returns whether it moved.
CREATE FUNCTION angzarr.save_feed_position(consumer text, feed_tx bigint, global_position bigint)
RETURNS boolean LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_moved boolean;
BEGIN
    IF coalesce(save_feed_position.consumer, '') = '' THEN
        RAISE EXCEPTION 'consumer must not be NULL or empty'
            USING ERRCODE = '22023', HINT = 'Name the consumer, e.g. ''billing''.';
    END IF;
    IF save_feed_position.feed_tx IS NULL OR save_feed_position.global_position IS NULL
       OR save_feed_position.feed_tx < 0 OR save_feed_position.global_position < 0 THEN
        RAISE EXCEPTION 'feed checkpoint (%, %) is invalid',
            coalesce(save_feed_position.feed_tx::text, 'NULL'),
            coalesce(save_feed_position.global_position::text, 'NULL')
            USING ERRCODE = '22023',
                  HINT = 'Save the (feed_tx, global_position) of the last row processed, or of angzarr.feed_horizon().';
    END IF;
    INSERT INTO angzarr.feed_positions AS p (consumer, feed_tx, global_position)
    VALUES (save_feed_position.consumer, save_feed_position.feed_tx, save_feed_position.global_position)
    ON CONFLICT (consumer) DO UPDATE
       SET feed_tx = excluded.feed_tx, global_position = excluded.global_position, updated_at = now()
     WHERE (p.feed_tx, p.global_position) < (excluded.feed_tx, excluded.global_position)
    RETURNING true INTO v_moved;
    RETURN coalesce(v_moved, false);
END
$$;
COMMENT ON FUNCTION angzarr.save_feed_position(text, bigint, bigint) IS
    'Saves a consumer''s feed checkpoint if it is ahead of the stored one; returns true when it moved, false for a no-op.';

-- Where a consumer resumes: its saved checkpoint, or (0, 0) with updated_at NULL if it has none.
CREATE FUNCTION angzarr.get_feed_position(
    consumer text, OUT feed_tx bigint, OUT global_position bigint, OUT updated_at timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(p.feed_tx, 0), coalesce(p.global_position, 0), p.updated_at
      FROM (SELECT 1) one
      LEFT JOIN angzarr.feed_positions p ON p.consumer = $1
$$;
COMMENT ON FUNCTION angzarr.get_feed_position(text) IS
    'A consumer''s saved feed checkpoint; (0, 0) and updated_at NULL when it never saved one.';
