//! The rest of angzarr's storage contract: positions, snapshots, editions, correlation,
//! discovery and the protobuf EventBook functions. SQL lives in `sql/`, registered here.
//!
//! Everything that writes is SQL or PL/pgSQL (so errors raised by the events trigger keep their
//! SQLSTATE); the Rust here only validates names with the same rules the trigger applies.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::{PgLogLevel, PgSqlErrorCode};

use crate::errors::{self, AppendError};
use crate::names;

/// Raises a name or value error through pgrx's panic path, which unwinds the Rust frames (so
/// every String, Vec or argument copy they own is dropped) before PostgreSQL long-jumps. Name
/// errors carry built-in SQLSTATEs (23502, 22023, 22001), so the raw `errors::raise` (needed
/// only for the `ZA` class) is not used here.
pub(crate) fn raise_invalid(err: AppendError) -> ! {
    match err {
        AppendError::InvalidValue {
            code,
            message,
            hint,
        } => {
            let code = PgSqlErrorCode::from(errors::make_sqlstate(code));
            let report = ErrorReport::new(code, message, function_name!());
            match hint {
                Some(hint) => report.set_hint(hint),
                None => report,
            }
            .report(PgLogLevel::ERROR);
            unreachable!("ereport(ERROR) returned")
        }
        // Name checks never produce these; keep their own SQLSTATE should that change.
        other => errors::raise(other),
    }
}

/// Checks a domain name with the trigger's rules and returns it; raises 23502, 22023 or 22001.
#[pg_extern(immutable, parallel_safe, name = "_check_domain")]
fn check_domain(domain: Option<&str>) -> String {
    match names::check_domain(domain) {
        Ok(name) => name.to_string(),
        Err(e) => raise_invalid(e),
    }
}

/// Normalises an edition name (NULL and '' mean main) after checking it with the trigger's rules.
#[pg_extern(immutable, parallel_safe, name = "_check_edition")]
fn check_edition(edition: Option<&str>) -> String {
    match names::normalize_edition(edition) {
        Ok(name) => name.to_string(),
        Err(e) => raise_invalid(e),
    }
}

extension_sql_file!(
    "../sql/fn_discovery.sql",
    name = "fn_discovery",
    requires = ["fn_read_stream"]
);
extension_sql_file!(
    "../sql/table_positions.sql",
    name = "table_positions",
    requires = ["table_events"]
);
extension_sql_file!(
    "../sql/fn_positions.sql",
    name = "fn_positions",
    requires = ["table_positions", check_domain, check_edition]
);
extension_sql_file!(
    "../sql/view_handler_lag.sql",
    name = "view_handler_lag",
    requires = ["fn_positions", "fn_discovery"]
);
extension_sql_file!(
    "../sql/table_snapshots.sql",
    name = "table_snapshots",
    requires = ["table_events"]
);
extension_sql_file!(
    "../sql/fn_snapshots.sql",
    name = "fn_snapshots",
    requires = [
        "table_snapshots",
        "fn_discovery",
        "fn_positions",
        "fn_append_events"
    ]
);
extension_sql_file!(
    "../sql/fn_load_aggregate.sql",
    name = "fn_load_aggregate",
    requires = ["fn_snapshots", "fn_discovery"]
);
extension_sql_file!(
    "../sql/fn_editions.sql",
    name = "fn_editions",
    requires = [
        "fn_discovery",
        "fn_positions",
        "table_snapshots",
        "table_positions",
        "trigger_events_immutable",
        "fn_append_events",
        functions::forget_edition
    ]
);
extension_sql_file!(
    "../sql/fn_correlation.sql",
    name = "fn_correlation",
    requires = ["table_events"]
);
extension_sql_file!(
    "../sql/view_events_pretty.sql",
    name = "view_events_pretty",
    requires = ["fn_read_stream", "fn_payload_json"]
);
extension_sql_file!(
    "../sql/fn_event_book.sql",
    name = "fn_event_book",
    requires = [
        "fn_load_aggregate",
        "fn_correlation",
        "fn_append_events",
        "fn_editions",
        wire::decode_event_book,
        wire::encode_event_book,
        wire::event_book_to_json
    ]
);
