-- How far the feed is held back, and by which transaction.
SELECT horizon_feed_tx, held_back_events, oldest_xact_pid, oldest_xact_database::text AS oldest_xact_database,
       oldest_xact_state, oldest_xact_age, oldest_xact_prepared_gid
  FROM angzarr.feed_lag()
