//! The few PostgreSQL internals whose shape differs between the majors the extension builds for
//! (features `pg15`, `pg17`, `pg18`), so that the modules using them read the same on every one.

use pgrx::pg_sys;

/// The current backend's local transaction id. PostgreSQL 17 moved it into `PGPROC.vxid`.
#[cfg(not(any(feature = "pg17", feature = "pg18")))]
pub fn my_lxid() -> pg_sys::LocalTransactionId {
    // SAFETY: MyProc is set for every backend that can run the extension's code; a field read.
    unsafe { (*pg_sys::MyProc).lxid }
}

/// The current backend's local transaction id. PostgreSQL 17 moved it into `PGPROC.vxid`.
#[cfg(any(feature = "pg17", feature = "pg18"))]
pub fn my_lxid() -> pg_sys::LocalTransactionId {
    // SAFETY: as above.
    unsafe { (*pg_sys::MyProc).vxid.lxid }
}

/// `index_beginscan()` without instrumentation. PostgreSQL 18 added an instrumentation argument.
///
/// # Safety
/// As `pg_sys::index_beginscan`: open relations, a registered snapshot, inside a transaction.
#[cfg(not(feature = "pg18"))]
pub unsafe fn index_beginscan(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    nkeys: i32,
    norderbys: i32,
) -> pg_sys::IndexScanDesc {
    pg_sys::index_beginscan(heap, index, snapshot, nkeys, norderbys)
}

/// `index_beginscan()` without instrumentation. PostgreSQL 18 added an instrumentation argument.
///
/// # Safety
/// As `pg_sys::index_beginscan`: open relations, a registered snapshot, inside a transaction.
#[cfg(feature = "pg18")]
pub unsafe fn index_beginscan(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    snapshot: pg_sys::Snapshot,
    nkeys: i32,
    norderbys: i32,
) -> pg_sys::IndexScanDesc {
    pg_sys::index_beginscan(
        heap,
        index,
        snapshot,
        std::ptr::null_mut(),
        nkeys,
        norderbys,
    )
}
