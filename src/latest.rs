//! One-value queries read through the latest snapshot rather than the transaction's.
//!
//! The append path and the edition functions take a lock and then must see what committed
//! while they waited, also under REPEATABLE READ. SPI reads through the pushed active snapshot
//! only when it runs read-only (otherwise it takes the transaction snapshot), so these queries
//! run read-only under a pushed `GetLatestSnapshot()`.

use std::ffi::{c_char, CString};

use pgrx::pg_sys;

/// Runs `sql` (one row, one `bigint` column) with `args` through the latest snapshot; NULL or
/// no row gives `None`. Errors are PostgreSQL's, raised through pgrx (Rust values unwind).
pub fn query_i64(sql: &str, args: &[(pg_sys::Oid, pg_sys::Datum)]) -> Option<i64> {
    let sql = CString::new(sql).expect("runtime SQL has no NUL byte");
    let mut types: Vec<pg_sys::Oid> = args.iter().map(|a| a.0).collect();
    let mut values: Vec<pg_sys::Datum> = args.iter().map(|a| a.1).collect();
    let nulls: Vec<c_char> = vec![b' ' as c_char; args.len()];
    // SAFETY: SPI_connect/SPI_finish bracket the query and the snapshot is pushed and popped
    // around it; on an error, transaction abort closes SPI and resets the snapshot stack.
    unsafe {
        pg_sys::PushActiveSnapshot(pg_sys::GetLatestSnapshot());
        pg_sys::SPI_connect();
        let rc = pg_sys::SPI_execute_with_args(
            sql.as_ptr(),
            args.len() as i32,
            types.as_mut_ptr(),
            values.as_mut_ptr(),
            nulls.as_ptr(),
            true,
            1,
        );
        let mut result = None;
        let table = pg_sys::SPI_tuptable;
        if rc == pg_sys::SPI_OK_SELECT as i32 && !table.is_null() && pg_sys::SPI_processed > 0 {
            let mut isnull = false;
            let datum = pg_sys::SPI_getbinval(*(*table).vals, (*table).tupdesc, 1, &mut isnull);
            if !isnull {
                result = Some(datum.value() as i64);
            }
        }
        pg_sys::SPI_finish();
        pg_sys::PopActiveSnapshot();
        result
    }
}
