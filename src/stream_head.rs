//! Finding an aggregate's head: one advisory lock and one backward index probe per aggregate
//! per transaction.
//!
//! The probe reads through the latest snapshot rather than the transaction's, so that a
//! REPEATABLE READ writer continues from what has really been committed (its stale reads are
//! caught by its expected sequence, never by a unique violation).

use std::cell::Cell;

use pgrx::pg_sys;
use pgrx::IntoDatum;

use crate::expectations::AggregateKey;
use crate::tx_state::StreamHead;

/// Column numbers and object ids of one `angzarr.events` relation, looked up once per backend.
#[derive(Debug, Clone, Copy)]
pub struct EventsCatalog {
    pub rel: pg_sys::Oid,
    pub stream_index: pg_sys::Oid,
    pub idempotency_index: pg_sys::Oid,
    pub position_sequence: pg_sys::Oid,
    pub att_domain: i32,
    pub att_edition: i32,
    pub att_root: i32,
    pub att_event_type: i32,
    pub att_sequence: i32,
    pub att_global_position: i32,
    pub att_feed_tx: i32,
}

thread_local! {
    static CATALOG: Cell<Option<EventsCatalog>> = const { Cell::new(None) };
}

/// The catalog of `rel`, the relation the trigger fired on.
///
/// # Safety
/// `rel` must be a valid, open relation.
pub unsafe fn catalog(rel: pg_sys::Relation) -> EventsCatalog {
    let oid = (*rel).rd_id;
    if let Some(c) = CATALOG.get().filter(|c| c.rel == oid) {
        return c;
    }
    let nsp = (*(*rel).rd_rel).relnamespace;
    let lookup = |name: &std::ffi::CStr| {
        let found = pg_sys::get_relname_relid(name.as_ptr(), nsp);
        if found == pg_sys::InvalidOid {
            pgrx::error!(
                "angzarr_store: {} is missing; reinstall the extension",
                name.to_string_lossy()
            );
        }
        found
    };
    let tupdesc = (*rel).rd_att;
    let att = |name: &str| {
        let found = (0..(*tupdesc).natts as usize).find(|i| {
            let a = (*tupdesc).attrs.as_slice((*tupdesc).natts as usize)[*i];
            std::ffi::CStr::from_ptr(a.attname.data.as_ptr()).to_bytes() == name.as_bytes()
        });
        match found {
            Some(i) => i as i32 + 1,
            None => pgrx::error!("angzarr_store: column {name} is missing from angzarr.events"),
        }
    };
    let c = EventsCatalog {
        rel: oid,
        stream_index: lookup(c"events_stream_key"),
        idempotency_index: lookup(c"events_idempotency_idx"),
        position_sequence: lookup(c"events_global_position_seq"),
        att_domain: att("domain"),
        att_edition: att("edition"),
        att_root: att("root"),
        att_event_type: att("event_type"),
        att_sequence: att("sequence"),
        att_global_position: att("global_position"),
        att_feed_tx: att("feed_tx"),
    };
    CATALOG.set(Some(c));
    c
}

/// A 64-bit FNV-1a hash of the aggregate key: the advisory lock key, also computable from SQL
/// with `angzarr.aggregate_lock_key()`.
pub fn lock_key(key: &AggregateKey) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(key.domain.as_bytes());
    eat(&[0]);
    eat(key.edition.as_bytes());
    eat(&[0]);
    eat(&key.root);
    h as i64
}

/// Takes the aggregate's transaction-scoped advisory lock, waiting for a concurrent writer.
pub fn lock(key: &AggregateKey) {
    // SAFETY: pg_advisory_xact_lock(bigint) is a plain V1 function.
    unsafe {
        pgrx::direct_function_call::<()>(
            pg_sys::pg_advisory_xact_lock_int8,
            &[lock_key(key).into_datum()],
        );
    }
}

/// Draws the next global position from the events' sequence.
pub fn next_global_position(cat: &EventsCatalog) -> i64 {
    // SAFETY: nextval(regclass) is a plain V1 function.
    unsafe {
        pgrx::direct_function_call::<i64>(
            pg_sys::nextval_oid,
            &[cat.position_sequence.into_datum()],
        )
        .unwrap_or_else(|| pgrx::error!("angzarr_store: nextval returned NULL"))
    }
}

/// Reads the last committed (or own) event of `(domain, edition, root)`.
///
/// A backward index scan reads a whole leaf page before returning its first tuple, so for a
/// long aggregate it would compare every entry of the page. With a hint (a sequence this
/// backend saw earlier) the scan stops at the hint instead; events are only ever added above
/// it, and a hint that finds nothing (the edition was discarded since) is retried without.
///
/// # Safety
/// `rel` must be the open events relation that `cat` describes; the datums must be a `text`
/// domain, a `text` edition and a `uuid` root.
pub unsafe fn probe_last(
    rel: pg_sys::Relation,
    cat: &EventsCatalog,
    key: &AggregateKey,
    domain: pg_sys::Datum,
    edition: pg_sys::Datum,
    root: pg_sys::Datum,
) -> Option<StreamHead> {
    let hint = HINTS.with_borrow(|h| h.get(key).copied());
    let head = match hint {
        Some(hint) => scan_last(rel, cat, [domain, edition, root], Some(hint))
            .or_else(|| scan_last(rel, cat, [domain, edition, root], None)),
        None => scan_last(rel, cat, [domain, edition, root], None),
    };
    if let Some(head) = head {
        HINTS.with_borrow_mut(|h| {
            if h.len() >= MAX_HINTS {
                h.clear();
            }
            h.insert(key.clone(), head.next_sequence - 1);
        });
    }
    head
}

/// How many aggregates' hints a backend keeps; past it the map starts over.
const MAX_HINTS: usize = 65_536;

thread_local! {
    /// Last sequences this backend has seen, per aggregate, across transactions. Only a
    /// starting point for the probe, never trusted as the head itself.
    static HINTS: std::cell::RefCell<std::collections::HashMap<AggregateKey, i64>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

unsafe fn scan_last(
    rel: pg_sys::Relation,
    cat: &EventsCatalog,
    [domain, edition, root]: [pg_sys::Datum; 3],
    from_sequence: Option<i64>,
) -> Option<StreamHead> {
    let lockmode = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
    let index = pg_sys::index_open(cat.stream_index, lockmode);
    let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
    let mut keys: [pg_sys::ScanKeyData; 4] = std::mem::zeroed();
    let eq = pg_sys::BTEqualStrategyNumber as u16;
    let text_eq = pg_sys::Oid::from(pg_sys::F_TEXTEQ);
    pg_sys::ScanKeyInit(&mut keys[0], 1, eq, text_eq, domain);
    pg_sys::ScanKeyInit(&mut keys[1], 2, eq, text_eq, edition);
    let uuid_eq = pg_sys::Oid::from(pg_sys::F_UUID_EQ);
    pg_sys::ScanKeyInit(&mut keys[2], 3, eq, uuid_eq, root);
    let nkeys = match from_sequence {
        Some(from) => {
            let ge = pg_sys::BTGreaterEqualStrategyNumber as u16;
            let int8ge = pg_sys::Oid::from(pg_sys::F_INT8GE);
            pg_sys::ScanKeyInit(&mut keys[3], 4, ge, int8ge, pg_sys::Datum::from(from));
            4
        }
        None => 3,
    };
    let scan = pg_sys::index_beginscan(rel, index, snapshot, nkeys, 0);
    pg_sys::index_rescan(scan, keys.as_mut_ptr(), nkeys, std::ptr::null_mut(), 0);
    let slot = pg_sys::table_slot_create(rel, std::ptr::null_mut());
    let backward = pg_sys::ScanDirection::BackwardScanDirection;
    let head = if pg_sys::index_getnext_slot(scan, backward, slot) {
        let mut null = false;
        let seq = pg_sys::slot_getattr(slot, cat.att_sequence, &mut null).value() as i64;
        let feed_tx = pg_sys::slot_getattr(slot, cat.att_feed_tx, &mut null).value() as i64;
        Some(StreamHead {
            next_sequence: seq + 1,
            feed_tx,
        })
    } else {
        None
    };
    pg_sys::ExecDropSingleTupleTableSlot(slot);
    pg_sys::index_endscan(scan);
    pg_sys::UnregisterSnapshot(snapshot);
    pg_sys::index_close(index, lockmode);
    head
}

/// The sequence range an earlier append with idempotency `key` wrote to the aggregate, read
/// through the latest snapshot so a REPEATABLE READ caller that waited for the aggregate's lock
/// sees the append it waited for.
///
/// # Safety
/// Must run inside a transaction; the datums must be `text`, `text`, `uuid` and `text`.
pub unsafe fn idempotent_range(
    domain: pg_sys::Datum,
    edition: pg_sys::Datum,
    root: pg_sys::Datum,
    key: pg_sys::Datum,
) -> Option<(i64, i64)> {
    let lockmode = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
    let nsp = pg_sys::get_namespace_oid(c"angzarr".as_ptr(), false);
    let rel = pg_sys::table_open(pg_sys::get_relname_relid(c"events".as_ptr(), nsp), lockmode);
    let cat = catalog(rel);
    let index = pg_sys::index_open(cat.idempotency_index, lockmode);
    let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
    let mut keys: [pg_sys::ScanKeyData; 4] = std::mem::zeroed();
    let eq = pg_sys::BTEqualStrategyNumber as u16;
    let text_eq = pg_sys::Oid::from(pg_sys::F_TEXTEQ);
    pg_sys::ScanKeyInit(&mut keys[0], 1, eq, text_eq, domain);
    pg_sys::ScanKeyInit(&mut keys[1], 2, eq, text_eq, edition);
    pg_sys::ScanKeyInit(
        &mut keys[2],
        3,
        eq,
        pg_sys::Oid::from(pg_sys::F_UUID_EQ),
        root,
    );
    pg_sys::ScanKeyInit(&mut keys[3], 4, eq, text_eq, key);
    // The key column has the default collation; a btree scan key must use the index's own.
    keys[3].sk_collation = pg_sys::DEFAULT_COLLATION_OID;
    let scan = pg_sys::index_beginscan(rel, index, snapshot, 4, 0);
    pg_sys::index_rescan(scan, keys.as_mut_ptr(), 4, std::ptr::null_mut(), 0);
    let slot = pg_sys::table_slot_create(rel, std::ptr::null_mut());
    let mut range: Option<(i64, i64)> = None;
    while pg_sys::index_getnext_slot(scan, pg_sys::ScanDirection::ForwardScanDirection, slot) {
        let mut null = false;
        let seq = pg_sys::slot_getattr(slot, cat.att_sequence, &mut null).value() as i64;
        range = Some(match range {
            Some((lo, hi)) => (lo.min(seq), hi.max(seq)),
            None => (seq, seq),
        });
    }
    pg_sys::ExecDropSingleTupleTableSlot(slot);
    pg_sys::index_endscan(scan);
    pg_sys::UnregisterSnapshot(snapshot);
    pg_sys::index_close(index, lockmode);
    pg_sys::table_close(rel, lockmode);
    range
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_separate_every_part_of_the_key() {
        let k = |d: &str, e: &str, r: u8| AggregateKey {
            domain: d.into(),
            edition: e.into(),
            root: [r; 16],
        };
        let base = lock_key(&k("player", "angzarr", 1));
        assert_eq!(base, lock_key(&k("player", "angzarr", 1)));
        assert_ne!(base, lock_key(&k("player", "angzarr", 2)));
        assert_ne!(base, lock_key(&k("player", "what-if", 1)));
        assert_ne!(lock_key(&k("ab", "c", 1)), lock_key(&k("a", "bc", 1)));
    }
}
