//! The feed clock: what makes `feed_tx` comparable across clusters.
//!
//! `feed_tx` is the writer's 64-bit transaction id plus this database's feed clock offset `O`
//! (`angzarr.feed_clock`), and readers only pass rows below `snapshot xmin + O`. Transaction ids
//! belong to one cluster: a dump restored into another cluster, or a store moved there with
//! logical replication, brings events (and consumer checkpoints) stamped with the old cluster's
//! clock. Whenever such rows arrive (a row of `angzarr.events` with its feed position preset, or a
//! feed checkpoint written directly rather than through `save_feed_position()`), the transaction
//! remembers the largest `feed_tx` it brought in, and before it commits raises `O` so that every
//! later writer sorts after it (`angzarr._advance_feed_clock()`). `O` lives in a table that
//! `pg_dump` leaves out (it is relative to this cluster's transaction ids) and that logical
//! replication ignores (see `sql/table_feed_clock.sql`).
//!
//! Why raising `O` cannot let a reader skip a row: see `sql/fn_feed_clock.sql`.

use std::cell::Cell;

use pgrx::pg_sys;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::{PgLogLevel, PgSqlErrorCode};

extension_sql_file!(
    "../sql/table_feed_clock.sql",
    name = "table_feed_clock",
    requires = ["table_events"]
);
extension_sql_file!(
    "../sql/fn_feed_clock.sql",
    name = "fn_feed_clock",
    requires = ["table_feed_clock", "table_feed_positions"]
);
extension_sql_file!(
    "../sql/trigger_feed_clock.sql",
    name = "trigger_feed_clock",
    requires = [
        "trigger_events_sequence",
        "table_feed_positions",
        "fn_feed_clock",
        _feed_positions_note_moved,
        _feed_clock_changed
    ]
);

/// What the current transaction knows about the clock; stale once `lxid` is another transaction's.
#[derive(Debug, Clone, Copy, Default)]
struct TxClock {
    /// The local (per-backend) id of the transaction this belongs to.
    lxid: pg_sys::LocalTransactionId,
    /// `O` as read by this transaction's first stamped row.
    offset: Option<i64>,
    /// The largest `feed_tx` and `global_position` this transaction brought in from elsewhere.
    moved_feed_tx: Option<i64>,
    moved_position: Option<i64>,
}

thread_local! {
    static CLOCK: Cell<TxClock> = const { Cell::new(TxClock {
        lxid: 0,
        offset: None,
        moved_feed_tx: None,
        moved_position: None,
    }) };
}

fn current_lxid() -> pg_sys::LocalTransactionId {
    crate::pg_compat::my_lxid()
}

/// The current transaction's state; a fresh one when the cached state is another transaction's.
/// No transaction-end callback is needed: the next transaction has another `lxid`.
fn state() -> TxClock {
    let lxid = current_lxid();
    let s = CLOCK.get();
    if s.lxid == lxid {
        s
    } else {
        TxClock {
            lxid,
            ..TxClock::default()
        }
    }
}

/// The `feed_tx` a writer stamps: its top-level full transaction id plus `O`, read once per
/// transaction. In a transaction that also brought rows in from elsewhere, above those too.
/// The caller still raises it to the aggregate's previous `feed_tx`.
pub fn stamp(full_xid: i64) -> i64 {
    let mut s = state();
    let offset = match s.offset {
        Some(o) => o,
        None => {
            let o = read_offset();
            s.offset = Some(o);
            CLOCK.set(s);
            o
        }
    };
    let stamped = full_xid + offset;
    match s.moved_feed_tx {
        Some(m) => stamped.max(m + 1),
        None => stamped,
    }
}

/// Notes a row that arrived with its feed position already set (restored or replicated).
pub fn note_moved_event(feed_tx: i64, global_position: i64) {
    let mut s = state();
    s.moved_feed_tx = Some(s.moved_feed_tx.map_or(feed_tx, |m| m.max(feed_tx)));
    s.moved_position = Some(
        s.moved_position
            .map_or(global_position, |p| p.max(global_position)),
    );
    CLOCK.set(s);
}

/// Called from the pre-commit (and pre-prepare) transaction callback: when this transaction
/// brought rows in, makes sure the clock and the position counter are past them. Nothing at all
/// for a transaction that did not (every ordinary append); one SQL call for one that did.
pub fn before_commit() {
    let s = state();
    let Some(moved_feed_tx) = s.moved_feed_tx else {
        return;
    };
    if clock_table().is_none() {
        // A schema from before the feed clock: nothing to raise (see read_offset).
        return;
    }
    // Forget the note first, so that nothing the raise runs can make it raise again.
    CLOCK.set(TxClock {
        moved_feed_tx: None,
        moved_position: None,
        ..s
    });
    // At commit time no statement is running, so SPI needs a snapshot of its own; an error
    // aborts the transaction, which clears the snapshot stack.
    // SAFETY: plain snapmgr.c calls inside a transaction.
    let pushed = unsafe {
        let pushed = !pg_sys::ActiveSnapshotSet();
        if pushed {
            pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        }
        pushed
    };
    Spi::run_with_args(
        include_str!("../sql/runtime/advance_feed_clock.sql"),
        &[moved_feed_tx.into(), s.moved_position.unwrap_or(0).into()],
    )
    .unwrap_or_else(|e| pgrx::error!("angzarr_store: advancing the feed clock failed: {e}"));
    if pushed {
        // SAFETY: pops the snapshot pushed above.
        unsafe { pg_sys::PopActiveSnapshot() };
    }
}

thread_local! {
    /// `O` as last read by this backend, with the table it was read from. Every change to
    /// `angzarr.feed_clock` invalidates the table's relcache entry (statement trigger
    /// `feed_clock_changed`), and the callback below drops this then. Writers stamp while they
    /// hold ROW EXCLUSIVE on angzarr.events, which a raise (SHARE) waits for and excludes until
    /// it commits; taking that lock (and starting a transaction) processes pending
    /// invalidations, so a writer that got its lock after a raise committed never uses the
    /// offset from before it.
    static CACHED_OFFSET: Cell<Option<(pg_sys::Oid, i64)>> = const { Cell::new(None) };
}

/// Drops the cached offset when `angzarr.feed_clock` (or every relation) is invalidated.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    if let Some((clock, _)) = CACHED_OFFSET.get() {
        if relid == pg_sys::InvalidOid || relid == clock {
            CACHED_OFFSET.set(None);
        }
    }
}

/// Registers the invalidation callback; called once from `_PG_init`.
pub fn register_callbacks() {
    // SAFETY: registering a plain function pointer with inval.c for the life of the backend.
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(on_relcache_invalidation),
            pg_sys::Datum::from(0),
        );
    }
}

/// Statement trigger on `angzarr.feed_clock`: whatever changed it, every backend's cached offset
/// is dropped when this transaction commits.
#[pg_trigger]
fn _feed_clock_changed<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByRust>>, std::convert::Infallible> {
    // SAFETY: the trigger's relation is open for the duration of the call.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid((*trigger.trigger_data().tg_relation).rd_id) };
    Ok(None)
}

/// `O`: from this backend's cache, or read through the latest snapshot, not the transaction's:
/// a REPEATABLE READ writer that started before a raise committed must still stamp with the
/// raised value (see `sql/fn_feed_clock.sql` for why that matters).
///
/// A schema from before the feed clock (0.1.0, between installing this library and `ALTER
/// EXTENSION angzarr_store UPDATE`) has no `angzarr.feed_clock`: the offset is then 0, which is
/// what that schema's readers assume.
fn read_offset() -> i64 {
    if let Some((_, offset)) = CACHED_OFFSET.get() {
        return offset;
    }
    let Some(relid) = clock_table() else {
        return 0;
    };
    // SAFETY: a heap scan of a one-row table inside a transaction; every resource is released
    // before anything can raise an error.
    let found = unsafe {
        let lockmode = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let rel = pg_sys::table_open(relid, lockmode);
        let desc = (*rel).rd_att;
        let attno = (0..(*desc).natts as usize)
            .find(|i| {
                let a = pgrx::PgTupleDesc::from_pg_unchecked(desc)
                    .get(*i)
                    .copied()
                    .unwrap_or_default();
                std::ffi::CStr::from_ptr(a.attname.data.as_ptr()).to_bytes() == b"xid_offset"
            })
            .map(|i| i as i32 + 1);
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
        let scan = pg_sys::systable_beginscan(
            rel,
            pg_sys::InvalidOid,
            false,
            snapshot,
            0,
            std::ptr::null_mut(),
        );
        let tuple = pg_sys::systable_getnext(scan);
        let value = match attno {
            Some(attno) if !tuple.is_null() => {
                let mut null = false;
                let d = pg_sys::heap_getattr(tuple, attno, desc, &mut null);
                (!null).then(|| d.value() as i64)
            }
            _ => None,
        };
        pg_sys::systable_endscan(scan);
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, lockmode);
        value
    };
    match found {
        Some(offset) => {
            CACHED_OFFSET.set(Some((relid, offset)));
            offset
        }
        None => {
            ErrorReport::new(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "angzarr.feed_clock is missing or empty",
                "angzarr_store::feed_clock",
            )
            .set_detail(
                "The feed clock offset must be one row; appends cannot be ordered without it.",
            )
            .set_hint("Run SELECT angzarr.advance_feed_clock() as a superuser to recreate it.")
            .report(PgLogLevel::ERROR);
            unreachable!("ereport(ERROR) returned")
        }
    }
}

/// `angzarr.feed_clock`, or `None` when the schema predates it.
fn clock_table() -> Option<pg_sys::Oid> {
    // SAFETY: syscache lookups inside a transaction.
    let relid = unsafe {
        let nsp = pg_sys::get_namespace_oid(c"angzarr".as_ptr(), true);
        if nsp == pg_sys::InvalidOid {
            return None;
        }
        pg_sys::get_relname_relid(c"feed_clock".as_ptr(), nsp)
    };
    (relid != pg_sys::InvalidOid).then_some(relid)
}

/// BEFORE INSERT OR UPDATE trigger on `angzarr.feed_positions`: a checkpoint written directly
/// (a restore, logical replication, an operator), not through the SECURITY DEFINER
/// `save_feed_position()`, comes from another clock: note it so the clock is raised past it.
/// Checkpoints saved through the function are the consumers' own and never move the clock, so
/// no writer can push it forward. (Checked on PostgreSQL 15, whose apply worker runs as the
/// subscription owner; a version whose apply worker switches to the table owner's identity must
/// be checked again.)
#[pg_trigger]
fn _feed_positions_note_moved<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, std::convert::Infallible> {
    // A BEFORE INSERT OR UPDATE row trigger always has a new row.
    let Some(new) = trigger.new() else {
        return Ok(None);
    };
    let mut user = pg_sys::InvalidOid;
    let mut sec_context: std::ffi::c_int = 0;
    // SAFETY: reads miscinit.c's current user and security context.
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut sec_context) };
    let in_security_definer = sec_context & pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32 != 0;
    if !in_security_definer {
        if let Ok(Some(feed_tx)) = new.get_by_name::<i64>("feed_tx") {
            let s = state();
            CLOCK.set(TxClock {
                moved_feed_tx: Some(s.moved_feed_tx.map_or(feed_tx, |m| m.max(feed_tx))),
                ..s
            });
        }
    }
    Ok(Some(new))
}
