SELECT coalesce(sum((SELECT count(*) FROM angzarr.events e WHERE e.domain = p.domain AND e.edition = p.edition)), 0)::bigint FROM angzarr._stored_domain_editions() p WHERE p.edition = $1
