-- Per-transaction expectations for a multi-aggregate append (see the extension's
-- src/expectations.rs); '' clears them.
SELECT set_config('angzarr.expected_sequences', $1, true)
