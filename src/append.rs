//! `angzarr.append_events()`, both forms, as C-language functions: the documented way to append.
//!
//! The function checks its arguments, answers a repeated idempotency key, registers the
//! expected sequence and inserts the batch through a plan kept for the life of the backend; the
//! sequence trigger does the rest exactly as for a plain INSERT. It replaced a PL/pgSQL body
//! that cost more per call than the whole trigger (see bench/RESULTS.md).
//!
//! Errors. The INSERT runs through PostgreSQL's SPI entry points declared in [`raw`], not
//! through pgrx's wrappers: an error the trigger raises (ZA001 with its JSON DETAIL, ZA005, a
//! 22001 on a long value) then reaches the caller exactly as raised, where pgrx would turn a
//! SQLSTATE of our own class into XX000. That error long-jumps over this module's frames, so
//! while the INSERT runs they own nothing but plain values: every `String` of the checks is
//! dropped before it starts, and the arguments are PostgreSQL datums.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_long, CStr};

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{FromDatum, IntoDatum};

use crate::errors::{self, AppendError};
use crate::expectations::AggregateKey;
use crate::{locks, names, stream_head, trigger, tx_state};

/// PostgreSQL's SPI functions without pgrx's error translation (see the module comment).
mod raw {
    use super::*;
    extern "C-unwind" {
        pub fn SPI_execute_plan(
            plan: pg_sys::SPIPlanPtr,
            values: *mut pg_sys::Datum,
            nulls: *const c_char,
            read_only: bool,
            tcount: c_long,
        ) -> c_int;
    }
}

/// The arguments both forms share once the events are two arrays. Datums only: nothing here
/// needs dropping.
#[derive(Clone, Copy)]
struct Call {
    domain: Option<pg_sys::Datum>,
    root: Option<pg_sys::Datum>,
    event_types: Option<pg_sys::Datum>,
    payloads: Option<pg_sys::Datum>,
    edition: Option<pg_sys::Datum>,
    expected_sequence: Option<i64>,
    correlation_id: Option<pg_sys::Datum>,
    idempotency_key: Option<pg_sys::Datum>,
    created_at: Option<pg_sys::Datum>,
    ids: Option<pg_sys::Datum>,
}

/// What the checks decided.
enum Next {
    /// Answer without inserting (a repeated idempotency key, an empty batch).
    Answer(Option<(i64, i64)>),
    /// Insert the batch of this many events.
    Insert(Batch),
}

/// The batch, ready for the INSERT.
#[derive(Clone, Copy)]
struct Batch {
    len: usize,
    /// The edition argument as stored (NULL and '' become the main edition's name).
    edition: pg_sys::Datum,
    /// The idempotency key, NULL when absent or empty.
    idempotency_key: Option<pg_sys::Datum>,
}

/// Version-1 calling convention marker for [`append_events_wrapper`].
#[no_mangle]
pub extern "C" fn pg_finfo_append_events_wrapper() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// Version-1 calling convention marker for [`append_events_json_wrapper`].
#[no_mangle]
pub extern "C" fn pg_finfo_append_events_json_wrapper() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// `append_events(domain, root, event_types, payloads, edition, expected_sequence,
/// correlation_id, idempotency_key, created_at, ids)`.
///
/// # Safety
/// Called by PostgreSQL's function manager with the ten arguments of that signature.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn append_events_wrapper(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let a: [_; 10] = args(fcinfo);
    let call = Call {
        domain: a[0],
        root: a[1],
        event_types: a[2],
        payloads: a[3],
        edition: a[4],
        expected_sequence: a[5].map(|d| d.value() as i64),
        correlation_id: a[6],
        idempotency_key: a[7],
        created_at: a[8],
        ids: a[9],
    };
    append(fcinfo, call)
}

/// `append_events(domain, root, events jsonb, edition, expected_sequence, correlation_id,
/// idempotency_key, created_at, ids)`: the JSON array becomes the two arrays of the binary form
/// (payloads as their JSON text in UTF-8), then everything goes as there.
///
/// # Safety
/// Called by PostgreSQL's function manager with the nine arguments of that signature.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn append_events_json_wrapper(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let a: [_; 9] = args(fcinfo);
    let (event_types, payloads) = match split_json(a[2]) {
        Ok(arrays) => arrays,
        Err(e) => errors::raise(e),
    };
    let call = Call {
        domain: a[0],
        root: a[1],
        event_types: Some(event_types),
        payloads: Some(payloads),
        edition: a[3],
        expected_sequence: a[4].map(|d| d.value() as i64),
        correlation_id: a[5],
        idempotency_key: a[6],
        created_at: a[7],
        ids: a[8],
    };
    append(fcinfo, call)
}

unsafe fn args<const N: usize>(fcinfo: pg_sys::FunctionCallInfo) -> [Option<pg_sys::Datum>; N] {
    let given = (*fcinfo).args.as_slice((*fcinfo).nargs as usize);
    std::array::from_fn(|i| given.get(i).filter(|a| !a.isnull).map(|a| a.value))
}

unsafe fn append(fcinfo: pg_sys::FunctionCallInfo, call: Call) -> pg_sys::Datum {
    let range = match check(&call) {
        Err(e) => errors::raise(e),
        Ok(Next::Answer(range)) => range,
        Ok(Next::Insert(batch)) => insert(&call, batch),
    };
    result(fcinfo, range)
}

/// One-dimensional view of an array argument.
struct Array {
    ndim: i32,
    lbound: i32,
    elems: *mut pg_sys::Datum,
    nulls: *mut bool,
    len: usize,
}

impl Array {
    /// # Safety
    /// `datum` must be an array of `elemtype` with the given storage properties.
    unsafe fn of(
        datum: pg_sys::Datum,
        elemtype: pg_sys::Oid,
        len: i16,
        byval: bool,
        align: u8,
    ) -> Self {
        let arr = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
        let ndim = (*arr).ndim;
        let dims = (arr as *const u8).add(std::mem::size_of::<pg_sys::ArrayType>()) as *const i32;
        let lbound = if ndim > 0 {
            *dims.add(ndim as usize)
        } else {
            1
        };
        let mut elems = std::ptr::null_mut();
        let mut nulls = std::ptr::null_mut();
        let mut n: c_int = 0;
        pg_sys::deconstruct_array(
            arr,
            elemtype,
            len.into(),
            byval,
            align as c_char,
            &mut elems,
            &mut nulls,
            &mut n,
        );
        Array {
            ndim,
            lbound,
            elems,
            nulls,
            len: n as usize,
        }
    }

    fn is_null(&self, i: usize) -> bool {
        // SAFETY: deconstruct_array filled `len` flags.
        unsafe { *self.nulls.add(i) }
    }

    fn datum(&self, i: usize) -> pg_sys::Datum {
        // SAFETY: deconstruct_array filled `len` datums.
        unsafe { *self.elems.add(i) }
    }

    /// `array_position(a, NULL)`: the subscript of the first NULL.
    fn first_null(&self) -> Option<i64> {
        (0..self.len)
            .find(|i| self.is_null(*i))
            .map(|i| self.lbound as i64 + i as i64)
    }
}

const TEXT: (pg_sys::Oid, i16, bool, u8) = (pg_sys::TEXTOID, -1, false, b'i');
const BYTEA: (pg_sys::Oid, i16, bool, u8) = (pg_sys::BYTEAOID, -1, false, b'i');
const TIMESTAMPTZ: (pg_sys::Oid, i16, bool, u8) = (pg_sys::TIMESTAMPTZOID, 8, true, b'd');
const UUID: (pg_sys::Oid, i16, bool, u8) = (pg_sys::UUIDOID, 16, false, b'c');

unsafe fn array(datum: Option<pg_sys::Datum>, t: (pg_sys::Oid, i16, bool, u8)) -> Option<Array> {
    datum.map(|d| Array::of(d, t.0, t.1, t.2, t.3))
}

fn invalid(code: &'static str, message: String, hint: &str) -> AppendError {
    AppendError::invalid_with(code, message, hint)
}

/// The checks, in the order the documented errors promise; may lock the aggregate and answer a
/// repeated idempotency key. Every Rust value it makes is dropped when it returns.
unsafe fn check(call: &Call) -> Result<Next, AppendError> {
    let (Some(types_d), Some(payloads_d)) = (call.event_types, call.payloads) else {
        return Err(invalid(
            "22004",
            "event_types and payloads must not be NULL".into(),
            "Pass one event type and one payload per event; empty arrays append nothing.",
        ));
    };
    let types = Array::of(types_d, TEXT.0, TEXT.1, TEXT.2, TEXT.3);
    let payloads = Array::of(payloads_d, BYTEA.0, BYTEA.1, BYTEA.2, BYTEA.3);
    let created_at = array(call.created_at, TIMESTAMPTZ);
    let ids = array(call.ids, UUID);
    let multi = |a: &Option<Array>| a.as_ref().is_some_and(|a| a.ndim > 1);
    if types.ndim > 1 || payloads.ndim > 1 || multi(&created_at) || multi(&ids) {
        return Err(invalid(
            "22023",
            "event_types, payloads, created_at and ids must be one-dimensional arrays".into(),
            "Pass ARRAY['A', 'B'], not ARRAY[['A'], ['B']].",
        ));
    }
    let key_text = call.idempotency_key.map(text_len).filter(|len| *len > 0);
    let correlation_len = call.correlation_id.map(text_len);
    if correlation_len.unwrap_or(0) > trigger::MAX_KEY_BYTES
        || key_text.unwrap_or(0) > trigger::MAX_KEY_BYTES
    {
        return Err(AppendError::InvalidValueWithDetail {
            code: "22001",
            message: "correlation_id and idempotency_key are limited to 1024 bytes".into(),
            detail: format!(
                "correlation_id has {} bytes, idempotency_key {}.",
                correlation_len.unwrap_or(0),
                key_text.unwrap_or(0)
            ),
            hint: "Use an identifier such as a UUID, not the content itself.".into(),
        });
    }
    let n = types.len;
    if payloads.len != n {
        return Err(invalid(
            "22023",
            format!(
                "append_events got {n} event types but {} payloads",
                payloads.len
            ),
            "Pass one payload per event type.",
        ));
    }
    if let Some(c) = created_at.as_ref().filter(|c| c.len != n) {
        return Err(invalid(
            "22023",
            format!(
                "append_events got {n} events but {} created_at values",
                c.len
            ),
            "Pass one time per event (NULL for the transaction's time), or no created_at.",
        ));
    }
    if let Some(i) = ids.as_ref().filter(|i| i.len != n) {
        return Err(invalid(
            "22023",
            format!("append_events got {n} events but {} ids", i.len),
            "Pass one id per event, or no ids.",
        ));
    }
    if let Some(at) = ids.as_ref().and_then(Array::first_null) {
        return Err(invalid(
            "22004",
            format!("id {at} of the batch is NULL"),
            "Pass an id for every event, or no ids at all.",
        ));
    }
    if let Some(at) = payloads.first_null() {
        return Err(invalid(
            "22004",
            format!("payload {at} of the batch is NULL"),
            "Pass an empty bytea ('\\x') for an event without payload.",
        ));
    }
    if (0..n).any(|i| types.is_null(i) || text_len(types.datum(i)) == 0) {
        return Err(invalid(
            "22023",
            "every event needs a non-empty event type".into(),
            "Name the event, e.g. 'FundsDeposited'.",
        ));
    }
    let idempotency_key = call.idempotency_key.filter(|_| key_text.is_some());
    if let Some(idem) = idempotency_key {
        // Serialise with other writers of this aggregate first, so a concurrent repeat of the
        // same append sees the committed original.
        let key = aggregate_key(call)?;
        locks::lock_aggregate(&key);
        let [domain, edition, root] = key_datums(&key);
        if let Some(range) = stream_head::idempotent_range(domain, edition, root, idem)? {
            return Ok(Next::Answer(Some(range)));
        }
    }
    if n == 0 {
        // Nothing to write; the expectation is checked (and the aggregate locked) all the same.
        if let Some(expected) = call.expected_sequence {
            let key = aggregate_key(call)?;
            trigger::check_next_sequence(&key, pgrx::Uuid::from_bytes(key.root), expected)?;
        }
        return Ok(Next::Answer(None));
    }
    if let Some(expected) = call.expected_sequence {
        let key = aggregate_key(call)?;
        if expected < 0 {
            return Err(invalid(
                "22003",
                format!("expected_sequence {expected} is negative"),
                "Pass the next sequence you expect (0 for a new aggregate), or NULL for any.",
            ));
        }
        tx_state::with(|s| s.expect(key, expected));
    }
    let edition = match call.edition.filter(|d| text_len(*d) > 0) {
        Some(d) => d,
        None => main_edition_datum(),
    };
    Ok(Next::Insert(Batch {
        len: n,
        edition,
        idempotency_key,
    }))
}

/// Length in bytes of a `text` datum, without detoasting it.
fn text_len(d: pg_sys::Datum) -> usize {
    // SAFETY: `d` is a text datum.
    unsafe { pg_sys::toast_raw_datum_size(d) - pg_sys::VARHDRSZ }
}

unsafe fn text_arg(d: Option<pg_sys::Datum>) -> Option<&'static str> {
    d.and_then(|d| <&str>::from_datum(d, false))
}

/// The aggregate the call writes, checked as the trigger checks it.
unsafe fn aggregate_key(call: &Call) -> Result<AggregateKey, AppendError> {
    let root = call.root.and_then(|d| pgrx::Uuid::from_datum(d, false));
    crate::functions::key(text_arg(call.domain), text_arg(call.edition), root)
}

fn key_datums(key: &AggregateKey) -> [pg_sys::Datum; 3] {
    let d = |x: Option<pg_sys::Datum>| x.unwrap_or(pg_sys::Datum::from(0));
    [
        d(key.domain.as_str().into_datum()),
        d(key.edition.as_str().into_datum()),
        d(pgrx::Uuid::from_bytes(key.root).into_datum()),
    ]
}

fn main_edition_datum() -> pg_sys::Datum {
    names::MAIN_EDITION
        .into_datum()
        .unwrap_or(pg_sys::Datum::from(0))
}

/// The INSERT for one event (values) and for a batch (unnest in order). The columns the
/// trigger stamps are left out; a NULL time is the transaction's, a NULL id is drawn by the
/// trigger.
const INSERT_ONE: &CStr = c"INSERT INTO angzarr.events
    (domain, edition, root, event_type, payload, correlation_id, idempotency_key, created_at, id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, pg_catalog.now()), $9)
    RETURNING sequence";
const INSERT_BATCH: &CStr = c"INSERT INTO angzarr.events
    (domain, edition, root, event_type, payload, correlation_id, idempotency_key, created_at, id)
    SELECT $1, $2, $3, u.event_type, u.payload, $6, $7, COALESCE(u.created_at, pg_catalog.now()), u.id
      FROM ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($8),
                      pg_catalog.unnest($9)) WITH ORDINALITY AS u(event_type, payload, created_at, id, n)
     ORDER BY u.n
    RETURNING sequence";

thread_local! {
    /// The two INSERT plans, prepared by a backend's first append and kept (PostgreSQL's plan
    /// cache revalidates them when the table changes).
    static PLANS: Cell<[pg_sys::SPIPlanPtr; 2]> =
        const { Cell::new([std::ptr::null_mut(), std::ptr::null_mut()]) };
}

unsafe fn plan(batch: bool) -> pg_sys::SPIPlanPtr {
    let mut plans = PLANS.get();
    let slot = batch as usize;
    if plans[slot].is_null() {
        let (sql, mut types) = if batch {
            (
                INSERT_BATCH,
                [
                    pg_sys::TEXTOID,
                    pg_sys::TEXTOID,
                    pg_sys::UUIDOID,
                    pg_sys::TEXTARRAYOID,
                    pg_sys::BYTEAARRAYOID,
                    pg_sys::TEXTOID,
                    pg_sys::TEXTOID,
                    pg_sys::TIMESTAMPTZARRAYOID,
                    pg_sys::UUIDARRAYOID,
                ],
            )
        } else {
            (
                INSERT_ONE,
                [
                    pg_sys::TEXTOID,
                    pg_sys::TEXTOID,
                    pg_sys::UUIDOID,
                    pg_sys::TEXTOID,
                    pg_sys::BYTEAOID,
                    pg_sys::TEXTOID,
                    pg_sys::TEXTOID,
                    pg_sys::TIMESTAMPTZOID,
                    pg_sys::UUIDOID,
                ],
            )
        };
        let p = pg_sys::SPI_prepare(sql.as_ptr(), types.len() as c_int, types.as_mut_ptr());
        if p.is_null() {
            pgrx::error!("angzarr_store: preparing the append statement failed");
        }
        pg_sys::SPI_keepplan(p);
        plans[slot] = p;
        PLANS.set(plans);
    }
    plans[slot]
}

/// Inserts the batch; returns its first and last sequence. Errors long-jump from here.
unsafe fn insert(call: &Call, batch: Batch) -> Option<(i64, i64)> {
    const N: usize = 9;
    let mut values = [pg_sys::Datum::from(0); N];
    let mut nulls = [b' ' as c_char; N];
    let mut set = |i: usize, v: Option<pg_sys::Datum>| match v {
        Some(d) => values[i] = d,
        None => nulls[i] = b'n' as c_char,
    };
    set(0, call.domain);
    set(1, Some(batch.edition));
    set(2, call.root);
    set(5, call.correlation_id);
    set(6, batch.idempotency_key);
    let one = batch.len == 1;
    if one {
        let first = |a: Option<pg_sys::Datum>, t| {
            // SAFETY: the argument arrays were checked to hold one element each.
            array(a, t).and_then(|a| (!a.is_null(0)).then(|| a.datum(0)))
        };
        set(3, first(call.event_types, TEXT));
        set(4, first(call.payloads, BYTEA));
        set(7, first(call.created_at, TIMESTAMPTZ));
        set(8, first(call.ids, UUID));
    } else {
        set(3, call.event_types);
        set(4, call.payloads);
        set(7, call.created_at);
        set(8, call.ids);
    }
    pg_sys::SPI_connect();
    let plan = plan(!one);
    let rc = raw::SPI_execute_plan(plan, values.as_mut_ptr(), nulls.as_ptr(), false, 0);
    let mut range: Option<(i64, i64)> = None;
    let table = pg_sys::SPI_tuptable;
    if rc == pg_sys::SPI_OK_INSERT_RETURNING as c_int && !table.is_null() {
        for i in 0..pg_sys::SPI_processed as usize {
            let mut null = false;
            let d = pg_sys::SPI_getbinval(*(*table).vals.add(i), (*table).tupdesc, 1, &mut null);
            if !null {
                let s = d.value() as i64;
                range = Some(range.map_or((s, s), |(lo, hi)| (lo.min(s), hi.max(s))));
            }
        }
    }
    pg_sys::SPI_finish();
    range
}

/// The `(first_sequence, last_sequence)` record, its descriptor kept for the call site.
unsafe fn result(fcinfo: pg_sys::FunctionCallInfo, range: Option<(i64, i64)>) -> pg_sys::Datum {
    let flinfo = (*fcinfo).flinfo;
    let mut desc = (*flinfo).fn_extra as pg_sys::TupleDesc;
    if desc.is_null() {
        let mut found: pg_sys::TupleDesc = std::ptr::null_mut();
        if pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut found)
            != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE
        {
            pgrx::error!("angzarr_store: append_events must return a record");
        }
        let old = pg_sys::MemoryContextSwitchTo((*flinfo).fn_mcxt);
        desc = pg_sys::BlessTupleDesc(pg_sys::CreateTupleDescCopy(found));
        pg_sys::MemoryContextSwitchTo(old);
        (*flinfo).fn_extra = desc.cast();
    }
    let (mut values, mut nulls) = match range {
        Some((first, last)) => (
            [pg_sys::Datum::from(first), pg_sys::Datum::from(last)],
            [false, false],
        ),
        None => ([pg_sys::Datum::from(0); 2], [true, true]),
    };
    let tuple = pg_sys::heap_form_tuple(desc, values.as_mut_ptr(), nulls.as_mut_ptr());
    pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data)
}

/// The JSON form's events as `(event_types text[], payloads bytea[])`, copied into the call's
/// memory; the checks and their errors are those of the former PL/pgSQL body. Every operator is
/// qualified (IS DISTINCT FROM cannot be), so objects planted in the caller's search_path are
/// never called.
const SPLIT_JSON: &CStr = c"SELECT t.kind,
       CASE WHEN t.kind OPERATOR(pg_catalog.=) 'array' THEN
           (SELECT pg_catalog.bool_or(pg_catalog.jsonb_typeof(e) OPERATOR(pg_catalog.<>) 'object'
                   OR COALESCE(pg_catalog.jsonb_typeof(e OPERATOR(pg_catalog.->) 'type')
                               OPERATOR(pg_catalog.<>) 'string', true))
              FROM pg_catalog.jsonb_array_elements($1) e) END,
       CASE WHEN t.kind OPERATOR(pg_catalog.=) 'array' THEN
           (SELECT COALESCE(pg_catalog.array_agg(e OPERATOR(pg_catalog.->>) 'type' ORDER BY n), '{}')
              FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS x(e, n)) END,
       CASE WHEN t.kind OPERATOR(pg_catalog.=) 'array' THEN
           (SELECT COALESCE(pg_catalog.array_agg(pg_catalog.convert_to(
                       COALESCE(e OPERATOR(pg_catalog.->) 'payload', 'null'::pg_catalog.jsonb)::pg_catalog.text,
                       'UTF8') ORDER BY n), '{}')
              FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS x(e, n)) END
  FROM (SELECT pg_catalog.jsonb_typeof($1) AS kind) t";

thread_local! {
    static SPLIT_PLAN: Cell<pg_sys::SPIPlanPtr> = const { Cell::new(std::ptr::null_mut()) };
}

fn bad_events(message: String) -> AppendError {
    invalid(
        "22023",
        message,
        "Pass '[{\"type\": \"Deposited\", \"payload\": {\"amount\": 10}}]'.",
    )
}

unsafe fn split_json(
    events: Option<pg_sys::Datum>,
) -> Result<(pg_sys::Datum, pg_sys::Datum), AppendError> {
    let Some(events) = events else {
        return Err(bad_events("events must be a JSON array, got NULL".into()));
    };
    pg_sys::SPI_connect();
    let mut plan = SPLIT_PLAN.get();
    if plan.is_null() {
        let mut types = [pg_sys::JSONBOID];
        plan = pg_sys::SPI_prepare(SPLIT_JSON.as_ptr(), 1, types.as_mut_ptr());
        if plan.is_null() {
            pgrx::error!("angzarr_store: preparing the JSON split failed");
        }
        pg_sys::SPI_keepplan(plan);
        SPLIT_PLAN.set(plan);
    }
    let mut values = [events];
    let nulls = [b' ' as c_char];
    let rc = pg_sys::SPI_execute_plan(plan, values.as_mut_ptr(), nulls.as_ptr(), true, 1);
    let table = pg_sys::SPI_tuptable;
    if rc != pg_sys::SPI_OK_SELECT as c_int || table.is_null() || pg_sys::SPI_processed != 1 {
        pg_sys::SPI_finish();
        pgrx::error!("angzarr_store: splitting the JSON events failed");
    }
    let row = *(*table).vals;
    let desc = (*table).tupdesc;
    let column = |i: c_int| {
        let mut null = false;
        let d = pg_sys::SPI_getbinval(row, desc, i, &mut null);
        (!null).then_some(d)
    };
    let kind = column(1).and_then(|d| String::from_datum(d, false));
    let bad = column(2).is_some_and(|d| d.value() != 0);
    let arrays = match (kind.as_deref(), bad, column(3), column(4)) {
        (Some("array"), false, Some(t), Some(p)) => Some((
            pg_sys::SPI_datumTransfer(t, false, -1),
            pg_sys::SPI_datumTransfer(p, false, -1),
        )),
        _ => None,
    };
    pg_sys::SPI_finish();
    match (kind, arrays) {
        (_, Some(arrays)) => Ok(arrays),
        (Some(kind), None) if kind == "array" => Err(bad_events(
            "every event must be a JSON object with a string \"type\"".into(),
        )),
        (kind, None) => Err(bad_events(format!(
            "events must be a JSON array, got {}",
            kind.as_deref().unwrap_or("NULL")
        ))),
    }
}
