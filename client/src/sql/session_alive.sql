-- A round trip on a connection, to see that it (and the session's locks) is still alive.
SELECT 1
