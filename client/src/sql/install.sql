-- Idempotent install; the caller holds the install lock (install_lock.sql).
CREATE EXTENSION IF NOT EXISTS angzarr_store
