//! The extension's errors and how they reach the client.
//!
//! Errors a caller branches on carry a SQLSTATE of our own class `ZA` (see README, "Errors").
//! pgrx can only raise the built-in SQLSTATEs, so [`raise`] calls PostgreSQL's `ereport`
//! machinery directly. It long-jumps out of the current function: callers must hold no Rust
//! value that needs dropping (no `RefCell` borrow, no lock guard) when they call it.

use std::ffi::{c_char, c_int};

/// `ZA001`: the aggregate's next sequence is not the one the writer expected.
pub const SQLSTATE_SEQUENCE_CONFLICT: &str = "ZA001";
/// `ZA002`: events are immutable; UPDATE, DELETE and TRUNCATE are refused.
pub const SQLSTATE_IMMUTABLE: &str = "ZA002";
/// `ZA005`: an idempotency key already stored by another append, reused by a plain INSERT.
pub const SQLSTATE_IDEMPOTENCY_KEY_REUSED: &str = "ZA005";

/// Everything the append path can refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendError {
    /// Optimistic concurrency failed: someone appended since the writer loaded its state.
    SequenceConflict {
        domain: String,
        edition: String,
        root: String,
        expected: i64,
        actual: i64,
    },
    /// A plain INSERT reused an idempotency key an earlier append stored on the aggregate.
    IdempotencyKeyReused {
        domain: String,
        edition: String,
        root: String,
        key: String,
        first: i64,
        last: i64,
    },
    /// A name (domain, edition) or value that cannot be stored.
    InvalidValue {
        code: &'static str,
        message: String,
        hint: Option<String>,
    },
    /// The same with a DETAIL.
    InvalidValueWithDetail {
        code: &'static str,
        message: String,
        detail: String,
        hint: String,
    },
}

impl AppendError {
    /// An `InvalidValue` with SQLSTATE 22023 (invalid_parameter_value).
    pub fn invalid(message: impl Into<String>) -> Self {
        AppendError::InvalidValue {
            code: "22023",
            message: message.into(),
            hint: None,
        }
    }

    /// An `InvalidValue` with a SQLSTATE of the caller's choosing and a hint.
    pub fn invalid_with(code: &'static str, message: impl Into<String>, hint: &str) -> Self {
        AppendError::InvalidValue {
            code,
            message: message.into(),
            hint: Some(hint.to_string()),
        }
    }

    /// The message and hint, for reporting through a channel other than [`raise`].
    pub fn message_and_hint(self) -> (String, Option<String>) {
        let (_, message, _, hint) = self.parts();
        (message, hint)
    }

    fn parts(self) -> (&'static str, String, Option<String>, Option<String>) {
        match self {
            AppendError::SequenceConflict {
                domain,
                edition,
                root,
                expected,
                actual,
            } => (
                SQLSTATE_SEQUENCE_CONFLICT,
                format!(
                    "sequence conflict on aggregate {domain}/{root} in edition \"{edition}\": expected next sequence {expected}, actual next sequence {actual}"
                ),
                Some(conflict_detail(&domain, &edition, &root, expected, actual)),
                Some("Reload the aggregate and retry the command.".to_string()),
            ),
            AppendError::IdempotencyKeyReused {
                domain,
                edition,
                root,
                key,
                first,
                last,
            } => (
                SQLSTATE_IDEMPOTENCY_KEY_REUSED,
                format!(
                    "idempotency key {key:?} was already used on aggregate {domain}/{root} in edition \"{edition}\" (sequences {first} to {last})"
                ),
                Some(
                    serde_json::json!({
                        "domain": domain,
                        "edition": edition,
                        "root": root,
                        "idempotency_key": key,
                        "first_sequence": first,
                        "last_sequence": last,
                    })
                    .to_string(),
                ),
                Some("append_events(..., idempotency_key => ...) answers a repeat with the original range; a new append needs a new key.".to_string()),
            ),
            AppendError::InvalidValue {
                code,
                message,
                hint,
            } => (code, message, None, hint),
            AppendError::InvalidValueWithDetail {
                code,
                message,
                detail,
                hint,
            } => (code, message, Some(detail), Some(hint)),
        }
    }
}

/// The machine-readable DETAIL of `ZA001`: one JSON object with the aggregate and both
/// sequences (keys in alphabetical order), so a client never parses the message.
pub fn conflict_detail(
    domain: &str,
    edition: &str,
    root: &str,
    expected: i64,
    actual: i64,
) -> String {
    serde_json::json!({
        "domain": domain,
        "edition": edition,
        "root": root,
        "expected": expected,
        "actual": actual,
    })
    .to_string()
}

/// Packs a five-character SQLSTATE the way PostgreSQL's `MAKE_SQLSTATE` does.
pub fn make_sqlstate(code: &str) -> c_int {
    let b = code.as_bytes();
    assert_eq!(b.len(), 5, "a SQLSTATE has five characters");
    b.iter().enumerate().fold(0, |acc, (i, ch)| {
        acc | (((*ch as c_int - b'0' as c_int) & 0x3F) << (6 * i))
    })
}

extern "C-unwind" {
    fn errstart(elevel: c_int, domain: *const c_char) -> bool;
    fn errcode(sqlerrcode: c_int) -> c_int;
    fn errmsg(fmt: *const c_char, ...) -> c_int;
    fn errdetail(fmt: *const c_char, ...) -> c_int;
    fn errhint(fmt: *const c_char, ...) -> c_int;
    fn errfinish(filename: *const c_char, lineno: c_int, funcname: *const c_char);
}

/// Raises `err` as a PostgreSQL ERROR with its own SQLSTATE, DETAIL and HINT. Never returns.
///
/// `ereport(ERROR)` long-jumps: no destructor runs in any Rust frame it jumps over. So the
/// message is first copied into PostgreSQL memory (freed with the failing statement's memory
/// context) and every Rust allocation is dropped before the jump; callers must likewise own
/// nothing (no `String`, `Vec`, `Box`, `RefCell` borrow or guard) in the frames above.
pub fn raise(err: AppendError) -> ! {
    let (sqlstate, message, detail, hint) = into_palloced(err);
    raise_palloced(sqlstate, message, detail, hint)
}

/// The error's parts copied into PostgreSQL memory; every Rust value is dropped on return.
#[inline(never)]
fn into_palloced(err: AppendError) -> PallocedError {
    let (code, message, detail, hint) = err.parts();
    (
        make_sqlstate(code),
        palloc_text(&message),
        detail.as_deref().map(palloc_text),
        hint.as_deref().map(palloc_text),
    )
}

type PallocedError = (
    c_int,
    *const c_char,
    Option<*const c_char>,
    Option<*const c_char>,
);

/// A NUL-terminated copy of `text` in the current PostgreSQL memory context (NULs dropped).
pub(crate) fn palloc_text(text: &str) -> *const c_char {
    let bytes: Vec<u8> = text.bytes().filter(|b| *b != 0).collect();
    // SAFETY: palloc returns memory of the requested size or raises (before anything is owned
    // here but `bytes`, which then leaks once: out of memory is not a per-call path).
    unsafe {
        let out = pgrx::pg_sys::palloc(bytes.len() + 1) as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len());
        *out.add(bytes.len()) = 0;
        out as *const c_char
    }
}

/// The jump itself, in a frame that owns nothing.
#[inline(never)]
fn raise_palloced(
    sqlstate: c_int,
    message: *const c_char,
    detail: Option<*const c_char>,
    hint: Option<*const c_char>,
) -> ! {
    let percent_s = c"%s";
    // SAFETY: plain calls into elog.c with NUL-terminated strings in PostgreSQL memory;
    // errfinish copies them before it long-jumps.
    unsafe {
        if errstart(pgrx::pg_sys::PGERROR as c_int, std::ptr::null()) {
            errcode(sqlstate);
            errmsg(percent_s.as_ptr(), message);
            if let Some(d) = detail {
                errdetail(percent_s.as_ptr(), d);
            }
            if let Some(h) = hint {
                errhint(percent_s.as_ptr(), h);
            }
            errfinish(
                c"angzarr_store".as_ptr(),
                line!() as c_int,
                c"angzarr_store".as_ptr(),
            );
        }
    }
    unreachable!("ereport(ERROR) returned")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_packing_matches_postgres() {
        // ERRCODE_UNIQUE_VIOLATION = MAKE_SQLSTATE('2','3','5','0','5') = 23505 packed.
        assert_eq!(
            make_sqlstate("23505"),
            pgrx::PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION as c_int
        );
        assert_ne!(make_sqlstate("ZA001"), make_sqlstate("ZA002"));
    }

    #[test]
    fn conflict_detail_names_both_sequences() {
        let err = AppendError::SequenceConflict {
            domain: "player".into(),
            edition: "angzarr".into(),
            root: "r".into(),
            expected: 3,
            actual: 5,
        };
        let (code, msg, detail, hint) = err.parts();
        assert_eq!(code, "ZA001");
        assert!(msg.contains("player/r"));
        assert!(msg.ends_with("expected next sequence 3, actual next sequence 5"));
        let detail: serde_json::Value = serde_json::from_str(&detail.unwrap()).unwrap();
        assert_eq!(
            detail,
            serde_json::json!({"domain": "player", "edition": "angzarr", "root": "r", "expected": 3, "actual": 5})
        );
        assert!(hint.unwrap().contains("retry"));
    }
}
