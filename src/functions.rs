//! SQL functions implemented in Rust. Each body delegates to a plain Rust module; DML stays in
//! SQL (`sql/fn_*.sql`) so that errors raised by the trigger keep their own SQLSTATE.

use pgrx::prelude::*;

use crate::errors::{self, AppendError};
use crate::expectations::AggregateKey;
use crate::locks;
use crate::names;
use crate::stream_head;
use crate::tx_state;

pub(crate) fn key(
    domain: Option<&str>,
    edition: Option<&str>,
    root: Option<pgrx::Uuid>,
) -> Result<AggregateKey, AppendError> {
    Ok(AggregateKey {
        domain: names::check_domain(domain)?.to_string(),
        edition: names::normalize_edition(edition)?.to_string(),
        root: *root.ok_or_else(null_root)?.as_bytes(),
    })
}

fn null_root() -> AppendError {
    AppendError::invalid_with(
        "23502",
        "root must not be NULL",
        "Pass the aggregate's UUID.",
    )
}

/// Registers the next sequence the caller expects `root` to have; the trigger checks it against
/// the next row written to that aggregate in this transaction.
#[pg_extern(volatile, parallel_unsafe, name = "_expect_next_sequence")]
fn expect_next_sequence(
    domain: Option<&str>,
    edition: Option<&str>,
    root: Option<pgrx::Uuid>,
    next_sequence: Option<i64>,
) {
    let checked = key(domain, edition, root).and_then(|k| match next_sequence {
        Some(n) if n >= 0 => Ok((k, n)),
        Some(n) => Err(AppendError::invalid_with(
            "22003",
            format!("expected_sequence {n} is negative"),
            "Pass the next sequence you expect (0 for a new aggregate), or NULL for any.",
        )),
        None => Err(AppendError::invalid_with(
            "23502",
            "next_sequence must not be NULL",
            "Pass the next sequence you expect, or do not register an expectation.",
        )),
    });
    match checked {
        Ok((k, n)) => tx_state::with(|s| s.expect(k, n)),
        Err(e) => errors::raise(e),
    }
}

/// Checks an empty append's expected sequence: locks the aggregate and raises ZA001 when its
/// next sequence differs.
#[pg_extern(volatile, parallel_unsafe, name = "_check_next_sequence")]
fn check_next_sequence(
    domain: Option<&str>,
    edition: Option<&str>,
    root: Option<pgrx::Uuid>,
    next_sequence: Option<i64>,
) {
    let checked = key(domain, edition, root).and_then(|k| match next_sequence {
        Some(n) => Ok((k, n)),
        None => Err(AppendError::invalid_with(
            "23502",
            "next_sequence must not be NULL",
            "Pass the next sequence you expect.",
        )),
    });
    let result = match checked {
        Ok((k, n)) => crate::trigger::check_next_sequence(&k, pgrx::Uuid::from_bytes(k.root), n),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        errors::raise(e)
    }
}

/// Takes the aggregate's append lock for the rest of the transaction.
#[pg_extern(volatile, parallel_unsafe, name = "_lock_aggregate")]
fn lock_aggregate(domain: Option<&str>, edition: Option<&str>, root: Option<pgrx::Uuid>) {
    let checked = key(domain, edition, root);
    match checked {
        Ok(k) => locks::lock_aggregate(&k),
        Err(e) => errors::raise(e),
    }
}

/// Takes the edition's lock in exclusive mode for the rest of the transaction and returns how
/// many events the edition holds, counted through a snapshot taken after the lock: appends
/// that start an aggregate's history in the edition hold the lock in share mode, so none is
/// in flight, and none starts until this transaction ends.
#[pg_extern(volatile, parallel_unsafe, name = "_lock_edition")]
fn lock_edition(edition: Option<&str>) -> i64 {
    let checked = names::normalize_edition(edition).map(str::to_string);
    match checked {
        Ok(name) => {
            locks::lock_edition_exclusive(&name);
            edition_events_now(&name)
        }
        Err(e) => errors::raise(e),
    }
}

fn edition_events_now(edition: &str) -> i64 {
    use pgrx::IntoDatum;
    let name = edition.into_datum().unwrap_or(pgrx::pg_sys::Datum::from(0));
    crate::latest::query_i64(
        include_str!("../sql/runtime/edition_event_count.sql"),
        &[(pgrx::pg_sys::TEXTOID, name)],
    )
    .unwrap_or(0)
}

/// The range an earlier append with this idempotency key wrote to the aggregate (NULLs when
/// none), as committed now rather than as the caller's snapshot saw it.
#[pg_extern(volatile, parallel_unsafe, name = "_idempotent_range")]
fn idempotent_range(
    domain: &str,
    edition: &str,
    root: pgrx::Uuid,
    key: &str,
) -> TableIterator<
    'static,
    (
        name!(first_sequence, Option<i64>),
        name!(last_sequence, Option<i64>),
    ),
> {
    use pgrx::IntoDatum;
    let datums = (
        domain.into_datum(),
        edition.into_datum(),
        root.into_datum(),
        key.into_datum(),
    );
    let range = match datums {
        (Some(d), Some(e), Some(r), Some(k)) => {
            // SAFETY: called through SQL inside a transaction with datums of the right types.
            unsafe { stream_head::idempotent_range(d, e, r, k) }
        }
        _ => Ok(None),
    };
    match range {
        Ok(range) => TableIterator::once((range.map(|r| r.0), range.map(|r| r.1))),
        Err(e) => errors::raise(e),
    }
}

/// The lock key writers of this aggregate hold: in pg_locks, an advisory lock with objsubid 3
/// whose classid and objid are the key's high and low halves.
#[pg_extern(immutable, parallel_safe)]
fn aggregate_lock_key(
    domain: Option<&str>,
    root: Option<pgrx::Uuid>,
    edition: default!(Option<&str>, "'angzarr'"),
) -> i64 {
    let checked = key(domain, edition, root);
    match checked {
        Ok(k) => locks::lock_key(&k),
        Err(e) => errors::raise(e),
    }
}

/// Validates a read range once per query; raises 22023 for a negative bound or count.
#[pg_extern(stable, parallel_safe, name = "_check_range")]
fn check_range(
    from_sequence: Option<i64>,
    to_sequence: Option<i64>,
    max_count: Option<i64>,
) -> bool {
    let problem = match (from_sequence, to_sequence, max_count) {
        (None, _, _) => Some("from_sequence must not be NULL".to_string()),
        (Some(f), _, _) if f < 0 => Some(format!("from_sequence {f} is negative")),
        (_, Some(t), _) if t < 0 => Some(format!("to_sequence {t} is negative")),
        (_, _, Some(m)) if m < 0 => Some(format!("max_count {m} is negative")),
        _ => None,
    };
    if let Some(message) = problem {
        errors::raise(AppendError::invalid_with(
            "22023",
            message,
            "Ranges are half-open [from_sequence, to_sequence) with from_sequence >= 0.",
        ));
    }
    true
}

/// Drops the cached heads of `edition` after its rows were deleted in this transaction, so a
/// later append in the same transaction probes the index again.
#[pg_extern(volatile, parallel_unsafe, name = "_forget_edition")]
fn forget_edition(edition: &str) {
    tx_state::with(|s| s.forget_edition(edition));
}
