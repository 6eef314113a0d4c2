-- Events stored and events the consumer applied, to wait for it to catch up.
SELECT (SELECT count(*) FROM angzarr.events WHERE domain = 'drill'),
       (SELECT count(*) FROM drill_seen)
