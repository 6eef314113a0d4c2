-- Installers queue here, so concurrent CREATE EXTENSION calls run one at a time; the key is
-- fixed and shared by every client process.
SELECT pg_advisory_xact_lock(hashtext('angzarr_store: CREATE EXTENSION'))
