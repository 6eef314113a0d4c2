//! angzarr_store: an event store inside PostgreSQL.
//!
//! The SQL objects live in `sql/`, one concern per file, loaded below in dependency order.
//! Rust covers the hot append path (the sequence trigger), validation and protobuf.

use pgrx::prelude::*;

mod append;
pub mod errors;
pub mod expectations;
mod feed;
mod feed_clock;
mod functions;
mod guc;
mod latest;
mod locks;
pub mod names;
mod notify;
mod operations;
mod payload_json;
mod pg_compat;
mod pg_tests;
mod storage_contract;
mod stream_head;
pub(crate) mod trigger;
mod tx_state;
mod wire;

::pgrx::pg_module_magic!(name, version);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // PostgreSQL errors caught on their way through Rust are raised again with PostgreSQL's own
    // message and DETAIL; a Rust backtrace appended to DETAIL is noise to every client.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    guc::define();
    tx_state::register_callbacks();
    stream_head::register_callbacks();
    feed_clock::register_callbacks();
}

extension_sql_file!("../sql/table_events.sql", name = "table_events", bootstrap);
extension_sql_file!(
    "../sql/table_editions.sql",
    name = "table_editions",
    requires = ["table_events"]
);
extension_sql_file!(
    "../sql/fn_editions_internal.sql",
    name = "fn_editions_internal",
    requires = ["table_editions"]
);
extension_sql_file!(
    "../sql/trigger_events_sequence.sql",
    name = "trigger_events_sequence",
    requires = ["fn_editions_internal", trigger::_events_before_insert]
);
extension_sql_file!(
    "../sql/trigger_events_immutable.sql",
    name = "trigger_events_immutable",
    requires = ["table_events"]
);
extension_sql_file!(
    "../sql/fn_append_events.sql",
    name = "fn_append_events",
    requires = [
        "trigger_events_sequence",
        functions::expect_next_sequence,
        functions::check_next_sequence,
        functions::lock_aggregate,
        functions::idempotent_range
    ]
);
extension_sql_file!(
    "../sql/fn_read_stream.sql",
    name = "fn_read_stream",
    requires = ["fn_editions_internal", functions::check_range]
);

extension_sql_file!("../sql/fn_payload_json.sql", name = "fn_payload_json");
extension_sql_file!(
    "../sql/comments_rust_functions.sql",
    name = "comments_rust_functions",
    requires = [
        functions::expect_next_sequence,
        functions::check_next_sequence,
        functions::lock_aggregate,
        functions::aggregate_lock_key,
        functions::check_range,
        functions::lock_edition,
        functions::forget_edition,
        functions::idempotent_range
    ]
);

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
