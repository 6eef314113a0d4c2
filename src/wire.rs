//! angzarr's protobuf wire format inside the store: EventBook bytes to rows and back.
//!
//! These functions are pure (no table access): `sql/fn_event_book.sql` appends the decoded rows
//! with a plain INSERT, so the trigger's errors (ZA001 on a stale page sequence) keep their own
//! SQLSTATE, and a bad book is refused before anything is written.

mod codec;
mod json;
#[cfg(test)]
mod tests;

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgLogLevel, PgSqlErrorCode};

use crate::errors::AppendError;
use crate::storage_contract::raise_invalid;
use codec::{BookOut, EventOut, SnapshotOut, WireError};

/// Raises `err` with its SQLSTATE, DETAIL and HINT. Never returns.
fn raise(err: WireError) -> ! {
    let parts = err.parts();
    let code = match parts.sqlstate {
        "22P03" => PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
        "22008" => PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
        "22003" => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
    };
    ErrorReport::new(code, parts.message, function_name!())
        .set_detail(parts.detail)
        .set_hint(parts.hint)
        .report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}

fn timestamptz(pg_micros: i64) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(pg_micros)
        .unwrap_or_else(|_| pgrx::error!("angzarr_store: timestamp {pg_micros} out of range"))
}

/// One row per page of an encoded EventBook, in page order; raises 22P03 for bytes that are
/// not an EventBook and 22023 for a book without cover, domain, root or pages.
// pgrx reads the column names from this signature, so the row type cannot be an alias.
#[allow(clippy::type_complexity)]
#[pg_extern(immutable, strict, parallel_safe, name = "_decode_event_book")]
fn decode_event_book(
    book: &[u8],
) -> TableIterator<
    'static,
    (
        name!(domain, String),
        name!(edition, String),
        name!(root, pgrx::Uuid),
        name!(correlation_id, Option<String>),
        name!(sequence, Option<i64>),
        name!(event_type, String),
        name!(payload, Vec<u8>),
        name!(created_at, Option<TimestampWithTimeZone>),
    ),
> {
    let book = codec::decode(book).unwrap_or_else(|e| raise(e));
    let root = pgrx::Uuid::from_bytes(book.root);
    let (domain, edition, correlation) = (book.domain, book.edition, book.correlation_id);
    TableIterator::new(book.pages.into_iter().map(move |p| {
        (
            domain.clone(),
            edition.clone(),
            root,
            correlation.clone(),
            p.sequence,
            p.event_type,
            p.payload,
            p.created_at.map(timestamptz),
        )
    }))
}

/// Builds an encoded EventBook from parallel arrays (one element per event, sequence order)
/// and an optional snapshot; what `angzarr.read_event_book()` returns. A NULL sequence encodes
/// a page without a header sequence (appended, it continues the aggregate: no expectation), and
/// a NULL next_sequence leaves the field unset, for a book that is a batch to append.
///
/// Every error here unwinds through pgrx's panic path, so the argument copies this frame owns
/// are dropped before PostgreSQL long-jumps; the snapshot state is borrowed, not copied, and the
/// names are checked before anything is built from the arrays.
#[allow(clippy::too_many_arguments)]
#[pg_extern(immutable, parallel_safe, name = "_encode_event_book")]
fn encode_event_book<'a>(
    domain: Option<&str>,
    edition: Option<&str>,
    root: Option<pgrx::Uuid>,
    next_sequence: Option<i64>,
    sequences: default!(Option<Vec<Option<i64>>>, "NULL"),
    event_types: default!(Option<Vec<Option<String>>>, "NULL"),
    payloads: default!(Option<pgrx::Array<'a, &'a [u8]>>, "NULL"),
    created_ats: default!(Option<Vec<Option<TimestampWithTimeZone>>>, "NULL"),
    snapshot_sequence: default!(Option<i64>, "NULL"),
    snapshot_type: default!(Option<String>, "NULL"),
    snapshot_state: default!(Option<&'a [u8]>, "NULL"),
    snapshot_retention: default!(Option<String>, "NULL"),
    correlation_id: default!(Option<String>, "NULL"),
    divergence_domains: default!(Option<Vec<Option<String>>>, "NULL"),
    divergence_sequences: default!(Option<Vec<Option<i64>>>, "NULL"),
) -> Vec<u8> {
    let domain = crate::names::check_domain(domain).unwrap_or_else(|e| raise_invalid(e));
    fn not_null(what: &str, hint: &str) -> ! {
        raise_invalid(AppendError::invalid_with(
            "23502",
            format!("{what} must not be NULL"),
            hint,
        ))
    }
    let Some(root) = root else {
        not_null("root", "Pass the aggregate's UUID.")
    };
    let edition = crate::names::normalize_edition(edition).unwrap_or_else(|e| raise_invalid(e));
    let (sequences, types) = (
        sequences.unwrap_or_default(),
        event_types.unwrap_or_default(),
    );
    let payloads: Vec<Option<Vec<u8>>> = payloads
        .map(|a| a.iter().map(|p| p.map(<[u8]>::to_vec)).collect())
        .unwrap_or_default();
    let created = created_ats.unwrap_or_default();
    let lengths = vec![sequences.len(), types.len(), payloads.len(), created.len()];
    if lengths.iter().any(|l| *l != sequences.len()) {
        raise(WireError::ArrayLengths {
            what: "event",
            lengths,
        });
    }
    let (div_domains, div_seqs) = (
        divergence_domains.unwrap_or_default(),
        divergence_sequences.unwrap_or_default(),
    );
    if div_domains.len() != div_seqs.len() {
        raise(WireError::ArrayLengths {
            what: "divergence",
            lengths: vec![div_domains.len(), div_seqs.len()],
        });
    }
    let events = sequences
        .into_iter()
        .zip(types)
        .zip(payloads)
        .zip(created)
        .map(|(((s, t), p), c)| EventOut {
            sequence: s,
            event_type: t.unwrap_or_default(),
            payload: p.unwrap_or_default(),
            created_at: c.map(pg_sys::TimestampTz::from),
        })
        .collect();
    let snapshot = snapshot_sequence.map(|sequence| SnapshotOut {
        sequence,
        state_type: snapshot_type.unwrap_or_default(),
        state: snapshot_state.unwrap_or_default().to_vec(),
        retention: snapshot_retention.unwrap_or_else(|| "default".to_string()),
    });
    let book = BookOut {
        domain: domain.to_string(),
        edition: edition.to_string(),
        root: *root.as_bytes(),
        correlation_id,
        divergences: div_domains
            .into_iter()
            .zip(div_seqs)
            .map(|(d, s)| (d.unwrap_or_default(), s.unwrap_or_default()))
            .collect(),
        snapshot,
        events,
        next_sequence: next_sequence.unwrap_or_default(),
    };
    codec::encode(&book).unwrap_or_else(|e| raise(e))
}

/// An encoded EventBook as JSON for reading in psql: payloads that are JSON text appear as
/// JSON, others as their size.
#[pg_extern(immutable, strict, parallel_safe)]
fn event_book_to_json(book: &[u8]) -> pgrx::JsonB {
    pgrx::JsonB(json::book_to_json(book).unwrap_or_else(|e| raise(e)))
}
