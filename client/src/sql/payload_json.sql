-- A payload as the server's JSON view sees it (NULL when it is not JSON text).
SELECT angzarr.payload_json($1)
