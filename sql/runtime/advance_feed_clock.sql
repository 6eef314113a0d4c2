SELECT angzarr._advance_feed_clock($1, $2)
