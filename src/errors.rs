//! The extension's errors and how they reach the client.
//!
//! Errors a caller branches on carry a SQLSTATE of our own class `ZA` (see README, "Errors").
//! pgrx can only raise the built-in SQLSTATEs, so [`raise`] calls PostgreSQL's `ereport`
//! machinery directly. It long-jumps out of the current function: callers must hold no Rust
//! value that needs dropping (no `RefCell` borrow, no lock guard) when they call it.

use std::ffi::{c_char, c_int, CString};

/// `ZA001`: the aggregate's next sequence is not the one the writer expected.
pub const SQLSTATE_SEQUENCE_CONFLICT: &str = "ZA001";
/// `ZA002`: events are immutable; UPDATE, DELETE and TRUNCATE are refused.
pub const SQLSTATE_IMMUTABLE: &str = "ZA002";

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
    /// A name (domain, edition) or value that cannot be stored.
    InvalidValue {
        code: &'static str,
        message: String,
        hint: Option<String>,
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
                format!("sequence conflict on aggregate {domain}/{root} in edition \"{edition}\""),
                Some(format!(
                    "expected next sequence {expected}, actual next sequence {actual}"
                )),
                Some("Reload the aggregate and retry the command.".to_string()),
            ),
            AppendError::InvalidValue {
                code,
                message,
                hint,
            } => (code, message, None, hint),
        }
    }
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
pub fn raise(err: AppendError) -> ! {
    let (code, message, detail, hint) = err.parts();
    let cstr = |s: String| CString::new(s.replace('\0', "")).unwrap_or_default();
    let message = cstr(message);
    let detail = detail.map(cstr);
    let hint = hint.map(cstr);
    let percent_s = c"%s";
    // SAFETY: plain calls into elog.c with NUL-terminated strings; errfinish copies every
    // string before it long-jumps. The CStrings above leak on that jump (a few bytes per
    // error); nothing else on our stack needs dropping.
    unsafe {
        if errstart(pgrx::pg_sys::PGERROR as c_int, std::ptr::null()) {
            errcode(make_sqlstate(code));
            errmsg(percent_s.as_ptr(), message.as_ptr());
            if let Some(d) = &detail {
                errdetail(percent_s.as_ptr(), d.as_ptr());
            }
            if let Some(h) = &hint {
                errhint(percent_s.as_ptr(), h.as_ptr());
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
        assert_eq!(
            detail.unwrap(),
            "expected next sequence 3, actual next sequence 5"
        );
        assert!(hint.unwrap().contains("retry"));
    }
}
