//! The BEFORE INSERT trigger on `angzarr.events`: the only way a row gets its sequence.
//!
//! Per row: validate the key, find the aggregate's head (cached after the first row of the
//! transaction), check expectations, then stamp `sequence`, `global_position` and `feed_tx`.
//! `feed_tx` orders the global feed: it is the writer's top-level transaction id, raised to the
//! aggregate's previous `feed_tx` so one aggregate's events never go backwards in the feed.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{FromDatum, IntoDatum, PgTupleDesc};

use crate::errors::{self, AppendError};
use crate::expectations::{self, AggregateKey};
use crate::guc;
use crate::locks;
use crate::names;
use crate::notify;
use crate::stream_head::{self, EventsCatalog};
use crate::tx_state::{self, StreamHead};

/// What the trigger decided for one row.
struct Stamp {
    sequence: i64,
    global_position: i64,
    feed_tx: i64,
    /// The normalised edition, when the row's spelling differed.
    edition: Option<&'static str>,
    /// The event id to store, when the row came without one.
    id: Option<[u8; 16]>,
}

#[pg_trigger]
fn _events_before_insert<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, std::convert::Infallible> {
    let td = trigger.trigger_data();
    // SAFETY: PostgreSQL fired us as a row-level BEFORE INSERT trigger on angzarr.events,
    // so tg_relation and tg_trigtuple are valid for the duration of the call.
    let outcome = unsafe { stamp_row(td) };
    match outcome {
        Ok(tuple) => {
            // SAFETY: the tuple was built against the relation's own descriptor.
            let desc = unsafe { PgTupleDesc::from_pg_unchecked((*td.tg_relation).rd_att) };
            Ok(Some(unsafe { PgHeapTuple::from_heap_tuple(desc, tuple) }))
        }
        Err(e) => errors::raise(e),
    }
}

unsafe fn attr<T: FromDatum>(
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
    attno: i32,
) -> Option<T> {
    let mut null = false;
    let datum = pg_sys::heap_getattr(tuple, attno, desc, &mut null);
    T::from_datum(datum, null)
}

unsafe fn stamp_row(td: &pg_sys::TriggerData) -> Result<pg_sys::HeapTuple, AppendError> {
    let rel = td.tg_relation;
    let desc = (*rel).rd_att;
    let tuple = td.tg_trigtuple;
    let cat = stream_head::catalog(rel)?;

    let domain_text: Option<&str> = attr(tuple, desc, cat.att_domain);
    let domain = names::check_domain(domain_text)?;
    let edition_text: Option<&str> = attr(tuple, desc, cat.att_edition);
    let edition = names::normalize_edition(edition_text)?;
    let root: pgrx::Uuid = attr(tuple, desc, cat.att_root).ok_or_else(|| {
        AppendError::invalid_with(
            "23502",
            "root must not be NULL",
            "Pass the aggregate's UUID.",
        )
    })?;
    names::check_event_type(attr(tuple, desc, cat.att_event_type))?;
    check_length(tuple, desc, cat.att_correlation_id, "correlation_id")?;
    check_length(tuple, desc, cat.att_idempotency_key, "idempotency_key")?;
    let explicit_sequence: Option<i64> = attr(tuple, desc, cat.att_sequence);
    if let Some(seq) = explicit_sequence.filter(|s| *s < 0) {
        return Err(AppendError::invalid_with(
            "22003",
            format!("sequence {seq} is negative"),
            "Sequences start at 0; leave sequence NULL to have it assigned.",
        ));
    }

    let key = AggregateKey {
        domain: domain.to_string(),
        edition: edition.to_string(),
        root: *root.as_bytes(),
    };
    let edition_changed = edition_text != Some(edition);
    tx_state::with(|s| s.use_relation(cat.rel));

    let preset_position: Option<i64> = attr(tuple, desc, cat.att_global_position);
    let preset_feed_tx: Option<i64> = attr(tuple, desc, cat.att_feed_tx);
    if let (Some(position), Some(feed_tx)) = (preset_position, preset_feed_tx) {
        // feed_clock: the clock is raised past moved rows before this transaction commits.
        crate::feed_clock::note_moved_event(feed_tx, position);
        return restore_verbatim(
            tuple,
            desc,
            &cat,
            &key,
            explicit_sequence,
            feed_tx,
            edition_changed,
        );
    }
    let edition_datum = if edition_changed {
        names::MAIN_EDITION.into_datum()
    } else {
        None
    };
    // An id the writer chose may already exist, and `INSERT ... ON CONFLICT DO NOTHING` then
    // skips the row after we stamped it: remember it, and check at the aggregate's next row.
    let explicit_id: Option<pgrx::Uuid> = attr(tuple, desc, cat.att_id);

    tx_state::with(|s| s.arm_setting(guc::expected_sequences(), expectations::parse))?;

    let mut null = false;
    let domain_d = pg_sys::heap_getattr(tuple, cat.att_domain, desc, &mut null);
    let edition_d = match edition_datum {
        Some(d) => d,
        None => pg_sys::heap_getattr(tuple, cat.att_edition, desc, &mut null),
    };
    let root_d = pg_sys::heap_getattr(tuple, cat.att_root, desc, &mut null);
    let datums = [domain_d, edition_d, root_d];
    let head = head_for(rel, &cat, &key, root, datums);
    let key_d = pg_sys::heap_getattr(tuple, cat.att_idempotency_key, desc, &mut null);
    if !null {
        check_idempotency_key(&key, datums, key_d)?;
    }

    let explicit_id = explicit_id.map(|id| *id.as_bytes());
    let stamp = tx_state::with(|s| decide(s, &key, head, explicit_sequence, &cat, explicit_id))?;
    let stamp = Stamp {
        edition: edition_changed.then_some(names::MAIN_EDITION),
        id: match explicit_id {
            Some(_) => None,
            None => Some(new_event_id()?),
        },
        ..stamp
    };
    Ok(apply(tuple, desc, &cat, &stamp))
}

/// Where `key` stands for this transaction: from the cache, or (taking the aggregate's lock
/// first) from the index. The datums are the key's domain, edition and root.
///
/// # Safety
/// `rel` must be the open events relation that `cat` describes.
pub unsafe fn head_for(
    rel: pg_sys::Relation,
    cat: &EventsCatalog,
    key: &AggregateKey,
    root: pgrx::Uuid,
    [domain, edition, root_d]: [pg_sys::Datum; 3],
) -> StreamHead {
    if let Some(head) = tx_state::with(|s| s.head(key)) {
        return confirm_previous_row(rel, cat, key, head);
    }
    locks::lock_aggregate(key);
    match stream_head::probe_last(rel, cat, key, domain, edition, root_d) {
        Some(head) => head,
        None => StreamHead {
            next_sequence: first_sequence(key, root),
            feed_tx: 0,
            unconfirmed: None,
        },
    }
}

/// Checks an empty append's expectation: takes the aggregate's lock (as an append would, so
/// nothing moves until the transaction ends) and compares its next sequence.
pub fn check_next_sequence(
    key: &AggregateKey,
    root: pgrx::Uuid,
    expected: i64,
) -> Result<(), AppendError> {
    // SAFETY: opens and closes angzarr.events around the probe, inside the caller's transaction.
    unsafe {
        let lockmode = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let nsp = pg_sys::get_namespace_oid(c"angzarr".as_ptr(), false);
        let rel = pg_sys::table_open(pg_sys::get_relname_relid(c"events".as_ptr(), nsp), lockmode);
        let head = stream_head::catalog(rel).map(|cat| {
            tx_state::with(|s| s.use_relation(cat.rel));
            let datum = |d: Option<pg_sys::Datum>| d.unwrap_or(pg_sys::Datum::from(0));
            let datums = [
                datum(key.domain.as_str().into_datum()),
                datum(key.edition.as_str().into_datum()),
                datum(root.into_datum()),
            ];
            head_for(rel, &cat, key, root, datums)
        });
        pg_sys::table_close(rel, lockmode);
        let head = head?;
        tx_state::with(|s| s.set_head(key, head));
        if head.next_sequence != expected {
            return Err(AppendError::SequenceConflict {
                domain: key.domain.clone(),
                edition: key.edition.clone(),
                root: key.root_text(),
                expected,
                actual: head.next_sequence,
            });
        }
    }
    Ok(())
}

/// An idempotency key belongs to one append: the rows of one statement. A row that reuses a
/// key an earlier statement or transaction stored for the aggregate is refused (`ZA005`),
/// naming the original range; `append_events()` answers such repeats with that range before
/// it inserts anything, so only plain INSERTs get here.
unsafe fn check_idempotency_key(
    key: &AggregateKey,
    [domain, edition, root]: [pg_sys::Datum; 3],
    idempotency_key: pg_sys::Datum,
) -> Result<(), AppendError> {
    let text = pgrx::pg_sys::text_to_cstring(idempotency_key.cast_mut_ptr());
    let idem = std::ffi::CStr::from_ptr(text)
        .to_string_lossy()
        .into_owned();
    pg_sys::pfree(text.cast());
    let command = pg_sys::GetCurrentCommandId(false);
    let seen = tx_state::with(|s| s.idempotency_key_command(key, &idem));
    if seen == Some(command) {
        return Ok(());
    }
    if let Some((first, last)) =
        stream_head::idempotent_range(domain, edition, root, idempotency_key)?
    {
        return Err(AppendError::IdempotencyKeyReused {
            domain: key.domain.clone(),
            edition: key.edition.clone(),
            root: key.root_text(),
            key: idem,
            first,
            last,
        });
    }
    tx_state::with(|s| s.note_idempotency_key(key, idem, command));
    Ok(())
}

/// The head after the aggregate's previous row: when that row carried a writer-chosen id and
/// was skipped (`ON CONFLICT DO NOTHING`), its sequence is free again.
unsafe fn confirm_previous_row(
    rel: pg_sys::Relation,
    cat: &EventsCatalog,
    key: &AggregateKey,
    head: StreamHead,
) -> StreamHead {
    let previous = head.next_sequence - 1;
    match head.unconfirmed {
        Some(id) if !stream_head::stamped_row_exists(rel, cat, &id, &key.root, previous) => {
            StreamHead {
                next_sequence: head.next_sequence - 1,
                unconfirmed: None,
                ..head
            }
        }
        _ => StreamHead {
            unconfirmed: None,
            ..head
        },
    }
}

/// Longest correlation id and idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Refuses a text column longer than [`MAX_KEY_BYTES`] without detoasting it.
unsafe fn check_length(
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
    attno: i32,
    what: &str,
) -> Result<(), AppendError> {
    let mut null = false;
    let datum = pg_sys::heap_getattr(tuple, attno, desc, &mut null);
    if null {
        return Ok(());
    }
    let bytes = pg_sys::toast_raw_datum_size(datum) - pg_sys::VARHDRSZ;
    if bytes <= MAX_KEY_BYTES {
        return Ok(());
    }
    Err(AppendError::invalid_with(
        "22001",
        format!("{what} is {bytes} bytes long; the limit is {MAX_KEY_BYTES}"),
        "Use an identifier such as a UUID, not the content itself.",
    ))
}

/// A random (version 4) UUID for an event appended without an id.
fn new_event_id() -> Result<[u8; 16], AppendError> {
    let mut b = [0u8; 16];
    // SAFETY: fills exactly the 16 bytes of `b`.
    if !unsafe { pg_sys::pg_strong_random(b.as_mut_ptr().cast(), b.len()) } {
        return Err(AppendError::invalid_with(
            "58000",
            "could not generate a random event id",
            "The server's random number source failed; retry.",
        ));
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(b)
}

/// A row that already carries its feed position comes from a dump being restored (only the
/// table owner may write those columns): it keeps every value, and must carry its sequence.
/// The primary key still refuses duplicates; `angzarr.check_integrity()` finds gaps.
unsafe fn restore_verbatim(
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
    cat: &EventsCatalog,
    key: &AggregateKey,
    sequence: Option<i64>,
    feed_tx: i64,
    edition_changed: bool,
) -> Result<pg_sys::HeapTuple, AppendError> {
    let Some(sequence) = sequence else {
        return Err(AppendError::invalid_with(
            "23502",
            "a row with a preset global_position and feed_tx must carry its sequence",
            "Leave global_position and feed_tx NULL to append; they are only set when restoring a dump.",
        ));
    };
    tx_state::with(|s| {
        if let Some(head) = s.head(key) {
            let next_sequence = head.next_sequence.max(sequence + 1);
            s.set_head(
                key,
                StreamHead {
                    next_sequence,
                    feed_tx: head.feed_tx.max(feed_tx),
                    unconfirmed: None,
                },
            );
        }
    });
    let mut columns = Vec::new();
    if edition_changed {
        columns.push((cat.att_edition, names::MAIN_EDITION.into_datum()));
    }
    if attr::<pgrx::Uuid>(tuple, desc, cat.att_id).is_none() {
        columns.push((
            cat.att_id,
            pgrx::Uuid::from_bytes(new_event_id()?).into_datum(),
        ));
    }
    if columns.is_empty() {
        return Ok(tuple);
    }
    Ok(replace_columns(tuple, desc, &columns))
}

/// Checks expectations and claims the next sequence for `key`.
fn decide(
    s: &mut tx_state::TxState,
    key: &AggregateKey,
    head: StreamHead,
    explicit_sequence: Option<i64>,
    cat: &EventsCatalog,
    explicit_id: Option<[u8; 16]>,
) -> Result<Stamp, AppendError> {
    let conflict = |expected: i64| AppendError::SequenceConflict {
        domain: key.domain.clone(),
        edition: key.edition.clone(),
        root: key.root_text(),
        expected,
        actual: head.next_sequence,
    };
    // Cache the head before checking, so a conflict inside a savepoint is undone cleanly
    // and a conflict at top level ends the transaction anyway.
    s.set_head(key, head);
    for expected in s.take_expectations(key).into_iter().flatten() {
        if expected != head.next_sequence {
            return Err(conflict(expected));
        }
    }
    if let Some(seq) = explicit_sequence {
        if seq != head.next_sequence {
            return Err(conflict(seq));
        }
    }
    // SAFETY: reading (and if needed assigning) the top-level transaction id.
    let xid = unsafe { pg_sys::GetTopFullTransactionId() }.value as i64;
    let stamp = Stamp {
        sequence: head.next_sequence,
        global_position: stream_head::next_global_position(cat),
        // feed_clock: the transaction id on this database's feed clock.
        feed_tx: crate::feed_clock::stamp(xid).max(head.feed_tx),
        edition: None,
        id: None,
    };
    s.set_head(
        key,
        StreamHead {
            next_sequence: stamp.sequence + 1,
            feed_tx: stamp.feed_tx,
            unconfirmed: explicit_id,
        },
    );
    notify::note_domain(s, &key.domain);
    Ok(stamp)
}

/// The sequence of an aggregate's first event in its edition: 0 on the main timeline; on a
/// named edition it continues the main timeline's history up to the divergence point.
///
/// The edition's lock, in share mode, keeps `create_edition()` from defining divergence points
/// while this transaction starts the aggregate's own history; the points are read through the
/// latest snapshot, so an edition created while we waited for the lock is seen.
fn first_sequence(key: &AggregateKey, root: pgrx::Uuid) -> i64 {
    if key.edition == names::MAIN_EDITION {
        return 0;
    }
    locks::share_edition(&key.edition);
    let arg = |d: Option<pg_sys::Datum>| d.unwrap_or(pg_sys::Datum::from(0));
    crate::latest::query_i64(
        include_str!("../sql/runtime/edition_first_sequence.sql"),
        &[
            (pg_sys::TEXTOID, arg(key.domain.as_str().into_datum())),
            (pg_sys::TEXTOID, arg(key.edition.as_str().into_datum())),
            (pg_sys::UUIDOID, arg(root.into_datum())),
        ],
    )
    .unwrap_or(0)
}

unsafe fn apply(
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
    cat: &EventsCatalog,
    stamp: &Stamp,
) -> pg_sys::HeapTuple {
    let mut columns = vec![
        (cat.att_sequence, stamp.sequence.into_datum()),
        (cat.att_global_position, stamp.global_position.into_datum()),
        (cat.att_feed_tx, stamp.feed_tx.into_datum()),
    ];
    if let Some(edition) = stamp.edition {
        columns.push((cat.att_edition, edition.into_datum()));
    }
    if let Some(id) = stamp.id {
        columns.push((cat.att_id, pgrx::Uuid::from_bytes(id).into_datum()));
    }
    replace_columns(tuple, desc, &columns)
}

/// A copy of `tuple` with the given (attribute number, value) pairs replaced.
unsafe fn replace_columns(
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
    columns: &[(i32, Option<pg_sys::Datum>)],
) -> pg_sys::HeapTuple {
    let natts = (*desc).natts as usize;
    let mut values = vec![pg_sys::Datum::from(0); natts];
    let mut nulls = vec![false; natts];
    let mut replace = vec![false; natts];
    for (attno, value) in columns {
        let i = *attno as usize - 1;
        values[i] = value.unwrap_or(pg_sys::Datum::from(0));
        nulls[i] = value.is_none();
        replace[i] = true;
    }
    pg_sys::heap_modify_tuple(
        tuple,
        desc,
        values.as_mut_ptr(),
        nulls.as_mut_ptr(),
        replace.as_mut_ptr(),
    )
}
