-- How often the consumer applied each event.
SELECT id, count(*) FROM drill_seen GROUP BY id
