-- The consumer-group member that receives an aggregate's feed events.
SELECT angzarr.feed_member($1, $2, $3, $4)
