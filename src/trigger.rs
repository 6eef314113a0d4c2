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

/// The incoming row, deformed once: every column the trigger reads comes from here, and the
/// stamped row is formed from it with the new values (one pass over the tuple each way, where
/// reading columns one by one walks the tuple again for every column after a NULL or a
/// variable-length one).
struct Row {
    values: Vec<pg_sys::Datum>,
    nulls: Vec<bool>,
}

impl Row {
    unsafe fn deform(tuple: pg_sys::HeapTuple, desc: pg_sys::TupleDesc) -> Self {
        let natts = (*desc).natts as usize;
        let mut row = Row {
            values: vec![pg_sys::Datum::from(0); natts],
            nulls: vec![true; natts],
        };
        pg_sys::heap_deform_tuple(tuple, desc, row.values.as_mut_ptr(), row.nulls.as_mut_ptr());
        row
    }

    fn datum(&self, attno: i32) -> Option<pg_sys::Datum> {
        let i = attno as usize - 1;
        (!self.nulls[i]).then(|| self.values[i])
    }

    unsafe fn get<T: FromDatum>(&self, attno: i32) -> Option<T> {
        let i = attno as usize - 1;
        T::from_datum(self.values[i], self.nulls[i])
    }

    fn set(&mut self, attno: i32, value: Option<pg_sys::Datum>) {
        let i = attno as usize - 1;
        self.values[i] = value.unwrap_or(pg_sys::Datum::from(0));
        self.nulls[i] = value.is_none();
    }

    /// The row as a new tuple, keeping the original's identification fields.
    unsafe fn form(
        &mut self,
        original: pg_sys::HeapTuple,
        desc: pg_sys::TupleDesc,
    ) -> pg_sys::HeapTuple {
        let tuple =
            pg_sys::heap_form_tuple(desc, self.values.as_mut_ptr(), self.nulls.as_mut_ptr());
        (*(*tuple).t_data).t_ctid = (*(*original).t_data).t_ctid;
        (*tuple).t_self = (*original).t_self;
        (*tuple).t_tableOid = (*original).t_tableOid;
        tuple
    }
}

unsafe fn stamp_row(td: &pg_sys::TriggerData) -> Result<pg_sys::HeapTuple, AppendError> {
    let rel = td.tg_relation;
    let desc = (*rel).rd_att;
    let tuple = td.tg_trigtuple;
    let cat = stream_head::catalog(rel)?;
    let mut row = Row::deform(tuple, desc);

    let domain_text: Option<&str> = row.get(cat.att_domain);
    let domain = names::check_domain(domain_text)?;
    let edition_text: Option<&str> = row.get(cat.att_edition);
    let edition = names::normalize_edition(edition_text)?;
    let root: pgrx::Uuid = row.get(cat.att_root).ok_or_else(|| {
        AppendError::invalid_with(
            "23502",
            "root must not be NULL",
            "Pass the aggregate's UUID.",
        )
    })?;
    names::check_event_type(row.get(cat.att_event_type))?;
    check_length(&row, cat.att_correlation_id, "correlation_id")?;
    check_length(&row, cat.att_idempotency_key, "idempotency_key")?;
    let explicit_sequence: Option<i64> = row.get(cat.att_sequence);
    if let Some(seq) = explicit_sequence.filter(|s| *s < 0) {
        return Err(AppendError::invalid_with(
            "22003",
            format!("sequence {seq} is negative"),
            "Sequences start at 0; leave sequence NULL to have it assigned.",
        ));
    }

    let key = cached_key(domain, edition, root.as_bytes());
    let edition_changed = edition_text != Some(edition);
    let stamped = stamp_key(
        &mut row,
        rel,
        tuple,
        &cat,
        &key,
        root,
        explicit_sequence,
        edition_changed,
    );
    LAST_KEY.set(Some(key));
    stamped
}

thread_local! {
    /// The aggregate key of the previous row: a batch's rows mostly share it, and reusing it
    /// saves building (allocating) it again for every row.
    static LAST_KEY: std::cell::Cell<Option<AggregateKey>> = const { std::cell::Cell::new(None) };
}

fn cached_key(domain: &str, edition: &str, root: &[u8; 16]) -> AggregateKey {
    match LAST_KEY.take() {
        Some(k) if k.root == *root && k.domain == domain && k.edition == edition => k,
        _ => AggregateKey {
            domain: domain.to_string(),
            edition: edition.to_string(),
            root: *root,
        },
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn stamp_key(
    row: &mut Row,
    rel: pg_sys::Relation,
    tuple: pg_sys::HeapTuple,
    cat: &EventsCatalog,
    key: &AggregateKey,
    root: pgrx::Uuid,
    explicit_sequence: Option<i64>,
    edition_changed: bool,
) -> Result<pg_sys::HeapTuple, AppendError> {
    let desc = (*rel).rd_att;
    tx_state::with(|s| s.use_relation(cat.rel));

    let preset_position: Option<i64> = row.get(cat.att_global_position);
    let preset_feed_tx: Option<i64> = row.get(cat.att_feed_tx);
    if let (Some(position), Some(feed_tx)) = (preset_position, preset_feed_tx) {
        // feed_clock: the clock is raised past moved rows before this transaction commits.
        crate::feed_clock::note_moved_event(feed_tx, position);
        return restore_verbatim(
            row,
            tuple,
            desc,
            cat,
            key,
            explicit_sequence,
            feed_tx,
            edition_changed,
        );
    }
    if edition_changed {
        row.set(cat.att_edition, names::MAIN_EDITION.into_datum());
    }
    // An id the writer chose may already exist, and `INSERT ... ON CONFLICT DO NOTHING` then
    // skips the row after we stamped it: remember it, and check at the aggregate's next row.
    let explicit_id: Option<pgrx::Uuid> = row.get(cat.att_id);

    tx_state::with(|s| s.arm_setting(guc::expected_sequences(), expectations::parse))?;

    let zero = pg_sys::Datum::from(0);
    let datums = [
        row.datum(cat.att_domain).unwrap_or(zero),
        row.datum(cat.att_edition).unwrap_or(zero),
        row.datum(cat.att_root).unwrap_or(zero),
    ];
    let expected = explicit_sequence.or_else(|| tx_state::with(|s| s.peek_expectation(key)));
    let locked = match expected {
        Some(expected) => fail_fast(rel, cat, key, datums, expected)?,
        None => false,
    };
    let head = head_for(rel, cat, key, root, datums, locked);
    if let Some(key_d) = row.datum(cat.att_idempotency_key) {
        check_idempotency_key(key, datums, key_d)?;
    }

    let explicit_id = explicit_id.map(|id| *id.as_bytes());
    let stamp = tx_state::with(|s| decide(s, key, head, explicit_sequence, cat, explicit_id))?;
    row.set(cat.att_sequence, stamp.sequence.into_datum());
    row.set(cat.att_global_position, stamp.global_position.into_datum());
    row.set(cat.att_feed_tx, stamp.feed_tx.into_datum());
    if explicit_id.is_none() {
        row.set(
            cat.att_id,
            pgrx::Uuid::from_bytes(new_event_id()?).into_datum(),
        );
    }
    Ok(row.form(tuple, desc))
}

/// Where `key` stands for this transaction: from the cache, or (taking the aggregate's lock
/// first, unless `locked` says this transaction just took it) from the index. The datums are
/// the key's domain, edition and root.
///
/// # Safety
/// `rel` must be the open events relation that `cat` describes.
pub unsafe fn head_for(
    rel: pg_sys::Relation,
    cat: &EventsCatalog,
    key: &AggregateKey,
    root: pgrx::Uuid,
    [domain, edition, root_d]: [pg_sys::Datum; 3],
    locked: bool,
) -> StreamHead {
    if let Some(head) = tx_state::with(|s| s.head(key)) {
        return confirm_previous_row(rel, cat, key, head);
    }
    if !locked {
        locks::lock_aggregate(key);
    }
    match stream_head::probe_last(rel, cat, key, domain, edition, root_d) {
        Some(head) => head,
        None => StreamHead {
            next_sequence: first_sequence(key, root),
            feed_tx: 0,
            unconfirmed: None,
        },
    }
}

/// A writer that expects a sequence of an aggregate another transaction is writing waits for
/// that transaction to end *without* queueing for the lock, then compares its expectation with
/// what has been committed: when that already differs, the append can only fail, and it fails
/// now. All such writers wake together when the holder ends, as writers of a plain table waiting
/// on a unique index do; queueing for the lock would wake them one at a time, each failing while
/// the others wait. When the expectation still matches, it takes the lock as usual (and
/// `head_for` reads the head again under it).
///
/// Returns whether this transaction now holds the aggregate's lock.
///
/// # Safety
/// As for [`head_for`].
unsafe fn fail_fast(
    rel: pg_sys::Relation,
    cat: &EventsCatalog,
    key: &AggregateKey,
    [domain, edition, root]: [pg_sys::Datum; 3],
    expected: i64,
) -> Result<bool, AppendError> {
    if tx_state::with(|s| s.head(key)).is_some() {
        return Ok(false);
    }
    if locks::try_lock_aggregate(key) {
        return Ok(true);
    }
    locks::wait_for_writer(key);
    let committed = match stream_head::probe_last(rel, cat, key, domain, edition, root) {
        Some(head) => head.next_sequence,
        // No event yet: a named edition's first sequence needs the edition's lock and a
        // query, so leave that case to the locked path.
        None if key.edition == names::MAIN_EDITION => 0,
        None => return Ok(false),
    };
    if committed != expected {
        return Err(AppendError::SequenceConflict {
            domain: key.domain.clone(),
            edition: key.edition.clone(),
            root: key.root_text(),
            expected,
            actual: committed,
        });
    }
    Ok(false)
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
            head_for(rel, &cat, key, root, datums, false)
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
unsafe fn check_length(row: &Row, attno: i32, what: &str) -> Result<(), AppendError> {
    let Some(datum) = row.datum(attno) else {
        return Ok(());
    };
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
#[allow(clippy::too_many_arguments)]
unsafe fn restore_verbatim(
    row: &mut Row,
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
    let has_id = row.datum(cat.att_id).is_some();
    if !edition_changed && has_id {
        return Ok(tuple);
    }
    if edition_changed {
        row.set(cat.att_edition, names::MAIN_EDITION.into_datum());
    }
    if !has_id {
        row.set(
            cat.att_id,
            pgrx::Uuid::from_bytes(new_event_id()?).into_datum(),
        );
    }
    Ok(row.form(tuple, desc))
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
