//! `angzarr.payload_json(bytea)`: a payload as `jsonb` when it is UTF-8 JSON text, else NULL.
//!
//! The text goes to PostgreSQL's own `jsonb` input function, so numbers keep every digit (a
//! round trip through a Rust JSON value would pass them through f64). A cheap check in Rust
//! first keeps binary payloads, the common case, off PostgreSQL's error path; the few texts it
//! lets through that `jsonb` still refuses (a `\u0000` escape, a number beyond `numeric`)
//! come back as NULL too. A plain C-language function because it returns the `jsonb` datum
//! exactly as PostgreSQL built it; its symbol keeps the name
//! 0.1.0's install script gave it, so that script still installs against this library.

use pgrx::pg_sys;
use pgrx::prelude::*;

/// Version-1 calling convention marker for [`payload_json_wrapper`].
#[no_mangle]
pub extern "C" fn pg_finfo_payload_json_wrapper() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// The C entry point of `angzarr.payload_json(bytea)` (declared STRICT in SQL).
///
/// # Safety
/// Called by PostgreSQL's function manager with one non-NULL `bytea` argument.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn payload_json_wrapper(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let arg = (*fcinfo).args.as_slice(1)[0].value;
    let payload = pg_sys::pg_detoast_datum_packed(arg.cast_mut_ptr());
    let bytes = pgrx::varlena::varlena_to_byte_slice(payload);
    match looks_like_json(bytes).then(|| to_jsonb(bytes)).flatten() {
        Some(datum) => datum,
        None => {
            (*fcinfo).isnull = true;
            pg_sys::Datum::from(0)
        }
    }
}

/// Whether `bytes` is one JSON value in UTF-8 without NUL bytes.
fn looks_like_json(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// `jsonb_in` on the text, or None when PostgreSQL refuses it with a data exception.
fn to_jsonb(bytes: &[u8]) -> Option<pg_sys::Datum> {
    // SAFETY: a NUL-terminated copy in PostgreSQL memory, read by jsonb_in.
    let text = unsafe { pg_sys::pnstrdup(bytes.as_ptr().cast(), bytes.len()) };
    PgTryBuilder::new(|| unsafe {
        pgrx::direct_function_call_as_datum(pg_sys::jsonb_in, &[Some(pg_sys::Datum::from(text))])
    })
    .catch_when(PgSqlErrorCode::ERRCODE_UNTRANSLATABLE_CHARACTER, |_| None)
    .catch_when(PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION, |_| {
        None
    })
    .catch_when(PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, |_| None)
    .catch_when(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, |_| None)
    .catch_when(PgSqlErrorCode::ERRCODE_STATEMENT_TOO_COMPLEX, |_| None)
    .catch_when(PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED, |_| None)
    .execute()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_text_passes_the_first_check() {
        assert!(looks_like_json(br#"{"a": 98765432109876543210}"#));
        assert!(looks_like_json(b" [1, 2.5e400] "));
        assert!(!looks_like_json(b"\xff\x00"));
        assert!(!looks_like_json(b"{\"a\": 1} trailing"));
        assert!(!looks_like_json(b""));
    }
}
