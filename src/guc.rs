//! The extension's settings, defined when the library loads.
//!
//! `angzarr.expected_sequences` is a real setting rather than a placeholder so that PostgreSQL
//! tells us about every SET and set_config() of it (its assign hook runs each time, even when
//! the text is the same): each one arms its expectations afresh, so a transaction that sets
//! the same expectation twice is checked twice. Its check hook refuses a malformed value at SET
//! time, where a user expects the error.

use std::ffi::{c_char, c_int, c_void, CStr};

use pgrx::pg_sys;

use crate::expectations;
use crate::tx_state;

static mut EXPECTED_SEQUENCES: *mut c_char = std::ptr::null_mut();
static mut ESCALATION_THRESHOLD: c_int = 1000;
/// Set while `_PG_init` defines the settings: a value SET before the library loaded is taken
/// as it is then, and the append path reports it if it is malformed (a refused value would
/// be dropped with only a WARNING, silently disabling the writer's checks).
static mut DEFINING: bool = false;

/// Defines the settings; called once from `_PG_init`.
pub fn define() {
    // SAFETY: _PG_init runs once per backend, single-threaded, before any SQL of ours.
    unsafe {
        DEFINING = true;
        pg_sys::DefineCustomStringVariable(
            c"angzarr.expected_sequences".as_ptr(),
            c"Next sequence each aggregate is expected to have, checked by the next event appended to it.".as_ptr(),
            c"A JSON object mapping \"domain/root\" or \"domain/edition/root\" to a sequence; every SET arms it afresh.".as_ptr(),
            &raw mut EXPECTED_SEQUENCES,
            c"".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            0,
            Some(check_expected_sequences),
            Some(assign_expected_sequences),
            None,
        );
        pg_sys::DefineCustomIntVariable(
            c"angzarr.lock_escalation_threshold".as_ptr(),
            c"Aggregate locks a transaction takes before it locks whole buckets of aggregates instead.".as_ptr(),
            c"Bounds the lock table entries of very large transactions; see README, limits.".as_ptr(),
            &raw mut ESCALATION_THRESHOLD,
            1000,
            0,
            1_000_000,
            pg_sys::GucContext::PGC_USERSET,
            0,
            None,
            None,
            None,
        );
        DEFINING = false;
    }
}

/// The setting's current text; `None` when empty.
pub fn expected_sequences() -> Option<&'static str> {
    // SAFETY: guc.c keeps the pointer valid until the next assignment, and nothing assigns it
    // while the caller uses the text (the append path reads it and parses it at once).
    unsafe {
        let ptr = EXPECTED_SEQUENCES;
        if ptr.is_null() {
            return None;
        }
        let text = CStr::from_ptr(ptr).to_str().unwrap_or("(not valid UTF-8)");
        (!text.trim().is_empty()).then_some(text)
    }
}

/// Aggregate locks per transaction before escalation.
pub fn escalation_threshold() -> u32 {
    // SAFETY: a plain read of an int guc.c maintains.
    unsafe { ESCALATION_THRESHOLD.max(0) as u32 }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn check_expected_sequences(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    if DEFINING || newval.is_null() || (*newval).is_null() {
        return true;
    }
    let problem = match CStr::from_ptr(*newval).to_str() {
        Ok(text) => expectations::parse(text)
            .err()
            .map(|e| e.message_and_hint()),
        Err(_) => Some(("the value is not valid UTF-8".to_string(), None)),
    };
    let Some((message, hint)) = problem else {
        return true;
    };
    pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE as c_int);
    pg_sys::GUC_check_errmsg_string = crate::errors::palloc_text(&message) as *mut c_char;
    if let Some(hint) = hint {
        pg_sys::GUC_check_errhint_string = crate::errors::palloc_text(&hint) as *mut c_char;
    }
    false
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn assign_expected_sequences(_newval: *const c_char, _extra: *mut c_void) {
    // A SET or set_config() runs inside a transaction that is in progress. Values restored as
    // a (sub)transaction ends are not new expectations: the savepoint undo log puts back what
    // the append path had made of the earlier value.
    if pg_sys::IsTransactionState() {
        tx_state::try_with(|s| s.rearm_setting());
    }
}
