-- The consumer-group member that receives an aggregate's feed events.
SELECT angzarr.feed_member(domain => $1, root => $2, members => $3, edition => $4)
