-- Domains that have events, in name order.
SELECT domain FROM angzarr.list_domains()
