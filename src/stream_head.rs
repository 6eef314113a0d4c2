//! Finding an aggregate's head: one backward index probe per aggregate per transaction, under
//! the aggregate's lock (see `locks.rs`); and the catalog facts the trigger needs.
//!
//! The probe reads through the latest snapshot rather than the transaction's, so that a
//! REPEATABLE READ writer continues from what has really been committed (its stale reads are
//! caught by its expected sequence, never by a unique violation).

use std::cell::Cell;
use std::ffi::c_char;

use pgrx::pg_sys;
use pgrx::{FromDatum, IntoDatum};

use crate::errors::AppendError;
use crate::expectations::AggregateKey;
use crate::tx_state::StreamHead;

/// Column numbers and object ids of one `angzarr.events` relation, looked up once and kept
/// until PostgreSQL invalidates the relation or one of its indexes (REINDEX [CONCURRENTLY],
/// VACUUM FULL, CLUSTER, ALTER TABLE, DROP, CREATE TRIGGER, ...): see [`register_callbacks`].
#[derive(Debug, Clone, Copy)]
pub struct EventsCatalog {
    pub rel: pg_sys::Oid,
    pub stream_index: pg_sys::Oid,
    pub idempotency_index: pg_sys::Oid,
    pub id_index: pg_sys::Oid,
    pub position_sequence: pg_sys::Oid,
    pub att_domain: i32,
    pub att_edition: i32,
    pub att_root: i32,
    pub att_event_type: i32,
    pub att_correlation_id: i32,
    pub att_idempotency_key: i32,
    pub att_id: i32,
    pub att_sequence: i32,
    pub att_global_position: i32,
    pub att_feed_tx: i32,
}

thread_local! {
    static CATALOG: Cell<Option<EventsCatalog>> = const { Cell::new(None) };
}

/// The name of the sequence trigger: triggers fire in name order, and no BEFORE INSERT row
/// trigger may follow it (one that skipped or changed a row would leave a gap behind).
const SEQUENCE_TRIGGER: &[u8] = b"events_assign_sequence";

/// Why the catalog of `angzarr.events` cannot be used.
pub enum CatalogError {
    Missing(&'static str),
    TriggerAfterOurs(String),
}

/// The catalog of `rel`, the relation the trigger fired on.
///
/// # Safety
/// `rel` must be a valid, open relation.
pub unsafe fn catalog(rel: pg_sys::Relation) -> Result<EventsCatalog, CatalogError> {
    let oid = (*rel).rd_id;
    if let Some(c) = CATALOG.get().filter(|c| c.rel == oid) {
        return Ok(c);
    }
    let c = load_catalog(rel)?;
    CATALOG.set(Some(c));
    Ok(c)
}

unsafe fn load_catalog(rel: pg_sys::Relation) -> Result<EventsCatalog, CatalogError> {
    check_trigger_order(rel)?;
    let nsp = (*(*rel).rd_rel).relnamespace;
    let lookup = |name: &'static std::ffi::CStr| {
        let found = pg_sys::get_relname_relid(name.as_ptr(), nsp);
        if found == pg_sys::InvalidOid {
            return Err(CatalogError::Missing(name.to_str().unwrap_or("?")));
        }
        Ok(found)
    };
    let tupdesc = (*rel).rd_att;
    let attrs = pgrx::PgTupleDesc::from_pg_unchecked(tupdesc);
    let att = |name: &'static str| {
        attrs
            .iter()
            .position(|a| {
                !a.attisdropped
                    && std::ffi::CStr::from_ptr(a.attname.data.as_ptr()).to_bytes()
                        == name.as_bytes()
            })
            .map(|i| i as i32 + 1)
            .ok_or(CatalogError::Missing(name))
    };
    Ok(EventsCatalog {
        rel: (*rel).rd_id,
        stream_index: lookup(c"events_stream_key")?,
        idempotency_index: lookup(c"events_idempotency_idx")?,
        id_index: lookup(c"events_id_key")?,
        position_sequence: lookup(c"events_global_position_seq")?,
        att_domain: att("domain")?,
        att_edition: att("edition")?,
        att_root: att("root")?,
        att_event_type: att("event_type")?,
        att_correlation_id: att("correlation_id")?,
        att_idempotency_key: att("idempotency_key")?,
        att_id: att("id")?,
        att_sequence: att("sequence")?,
        att_global_position: att("global_position")?,
        att_feed_tx: att("feed_tx")?,
    })
}

/// Refuses an enabled BEFORE INSERT row trigger that fires after the sequence trigger.
unsafe fn check_trigger_order(rel: pg_sys::Relation) -> Result<(), CatalogError> {
    let desc = (*rel).trigdesc;
    if desc.is_null() {
        return Ok(());
    }
    let triggers = std::slice::from_raw_parts((*desc).triggers, (*desc).numtriggers as usize);
    for t in triggers {
        let ty = t.tgtype as u32;
        let before_insert_row = ty & pg_sys::TRIGGER_TYPE_ROW != 0
            && ty & pg_sys::TRIGGER_TYPE_TIMING_MASK == pg_sys::TRIGGER_TYPE_BEFORE
            && ty & pg_sys::TRIGGER_TYPE_INSERT != 0;
        let name = std::ffi::CStr::from_ptr(t.tgname);
        if before_insert_row
            && t.tgenabled != pg_sys::TRIGGER_DISABLED as c_char
            && name.to_bytes() > SEQUENCE_TRIGGER
        {
            return Err(CatalogError::TriggerAfterOurs(
                name.to_string_lossy().into_owned(),
            ));
        }
    }
    Ok(())
}

/// Drops the cached catalog and probe hints when PostgreSQL invalidates the events relation,
/// one of its indexes or its position sequence, or every relation at once.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let stale = match CATALOG.get() {
        None => false,
        Some(_) if relid == pg_sys::InvalidOid => true,
        Some(c) => [
            c.rel,
            c.stream_index,
            c.idempotency_index,
            c.id_index,
            c.position_sequence,
        ]
        .contains(&relid),
    };
    if stale {
        CATALOG.set(None);
        HINTS.with(|h| {
            if let Ok(mut h) = h.try_borrow_mut() {
                h.clear();
            }
        });
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
    let scan = crate::pg_compat::index_beginscan(rel, index, snapshot, nkeys, 0);
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
            unconfirmed: None,
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
) -> Result<Option<(i64, i64)>, AppendError> {
    let lockmode = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
    let nsp = pg_sys::get_namespace_oid(c"angzarr".as_ptr(), false);
    let rel = pg_sys::table_open(pg_sys::get_relname_relid(c"events".as_ptr(), nsp), lockmode);
    let cat = match catalog(rel) {
        Ok(cat) => cat,
        Err(e) => {
            pg_sys::table_close(rel, lockmode);
            return Err(e.into());
        }
    };
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
    let scan = crate::pg_compat::index_beginscan(rel, index, snapshot, 4, 0);
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
    Ok(range)
}

/// Whether the row the trigger stamped as `sequence` of the aggregate of `root` with event id
/// `id` was really inserted (`ON CONFLICT DO NOTHING` skips it when another row has the id).
///
/// # Safety
/// `rel` must be the open events relation that `cat` describes.
pub unsafe fn stamped_row_exists(
    rel: pg_sys::Relation,
    cat: &EventsCatalog,
    id: &[u8; 16],
    root: &[u8; 16],
    sequence: i64,
) -> bool {
    let lockmode = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
    let index = pg_sys::index_open(cat.id_index, lockmode);
    let mut key: pg_sys::ScanKeyData = std::mem::zeroed();
    let uuid = pgrx::Uuid::from_bytes(*id);
    let datum = uuid.into_datum().unwrap_or(pg_sys::Datum::from(0));
    pg_sys::ScanKeyInit(
        &mut key,
        1,
        pg_sys::BTEqualStrategyNumber as u16,
        pg_sys::Oid::from(pg_sys::F_UUID_EQ),
        datum,
    );
    let snapshot = &raw mut pg_sys::SnapshotSelfData;
    let scan = crate::pg_compat::index_beginscan(rel, index, snapshot, 1, 0);
    pg_sys::index_rescan(scan, &mut key, 1, std::ptr::null_mut(), 0);
    let slot = pg_sys::table_slot_create(rel, std::ptr::null_mut());
    let mut found = false;
    if pg_sys::index_getnext_slot(scan, pg_sys::ScanDirection::ForwardScanDirection, slot) {
        let mut null = false;
        let seq = pg_sys::slot_getattr(slot, cat.att_sequence, &mut null).value() as i64;
        let root_d = pg_sys::slot_getattr(slot, cat.att_root, &mut null);
        let row_root = pgrx::Uuid::from_datum(root_d, null);
        found = seq == sequence && row_root.is_some_and(|r| r.as_bytes() == root);
    }
    pg_sys::ExecDropSingleTupleTableSlot(slot);
    pg_sys::index_endscan(scan);
    pg_sys::index_close(index, lockmode);
    found
}

impl From<CatalogError> for AppendError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Missing(name) => AppendError::invalid_with(
                "55000",
                format!("angzarr.events is missing {name}"),
                "The extension's objects were changed by hand; reinstall the extension.",
            ),
            CatalogError::TriggerAfterOurs(name) => AppendError::invalid_with(
                "55000",
                format!(
                    "angzarr.events has a BEFORE INSERT trigger \"{name}\" that fires after events_assign_sequence"
                ),
                "Triggers fire in name order; a row trigger after the sequence trigger could skip or change a stamped row and leave a gap. Rename it to sort before \"events_assign_sequence\", or make it an AFTER trigger.",
            ),
        }
    }
}
