//! EventBook bytes to rows and back, in plain Rust (no database access), so it is unit-tested
//! without PostgreSQL and the SQL that writes the rows keeps the trigger's SQLSTATEs.

use angzarr_store_proto as pb;
use angzarr_store_proto::prost_types;
use pb::page_header::SequenceType;
use prost::Message;

use crate::names::MAIN_EDITION;

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;
/// PostgreSQL's timestamptz range in its own microseconds (timestamp.h MIN_TIMESTAMP,
/// END_TIMESTAMP); the end is exclusive.
const PG_MIN_MICROS: i64 = -211_813_488_000_000_000;
const PG_END_MICROS: i64 = 9_223_371_331_200_000_000;

/// Why a book cannot be read or written. Each maps to one SQLSTATE (see [`WireError::parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The bytes are not a protobuf `EventBook`.
    Malformed { len: usize, reason: String },
    /// A field the store needs is missing or empty.
    Missing { field: &'static str },
    /// `cover.root` is not a 16-byte UUID.
    BadRoot { len: usize },
    /// A book to append has no pages.
    NoPages,
    /// A page has no event, or its event has no type.
    BadPage {
        page: usize,
        pages: usize,
        problem: &'static str,
    },
    /// A timestamp PostgreSQL cannot store.
    BadTimestamp {
        page: usize,
        seconds: i64,
        nanos: i32,
    },
    /// A value that does not fit a protobuf `uint32` field.
    OutOfRange { field: &'static str, value: i64 },
    /// The encoder's parallel arrays have different lengths.
    ArrayLengths {
        what: &'static str,
        lengths: Vec<usize>,
    },
    /// A snapshot retention name other than default, persist, transient.
    BadRetention(String),
}

/// The SQLSTATE, message, detail and hint of an error.
pub struct ErrorParts {
    pub sqlstate: &'static str,
    pub message: String,
    pub detail: String,
    pub hint: &'static str,
}

impl WireError {
    pub fn parts(&self) -> ErrorParts {
        let p = |sqlstate, message: String, detail: String, hint| ErrorParts {
            sqlstate,
            message,
            detail,
            hint,
        };
        match self {
            WireError::Malformed { len, reason } => p(
                "22P03",
                "EventBook bytes are not valid protobuf".into(),
                format!("Decoding {len} bytes failed: {reason}."),
                "Pass an angzarr.EventBook message encoded with protobuf (e.g. prost's encode_to_vec()).",
            ),
            WireError::Missing { field } => p(
                "22023",
                format!("EventBook has no {field}"),
                format!("{field} is missing or empty; a book names its aggregate in cover.domain and cover.root."),
                "Set cover.domain and cover.root (the root UUID's 16 bytes) on the book.",
            ),
            WireError::BadRoot { len } => p(
                "22P03",
                "EventBook cover.root is not a UUID".into(),
                format!("cover.root.value has {len} bytes; a UUID has 16."),
                "Encode the root as the UUID's 16 raw bytes (e.g. uuid::Uuid::as_bytes()).",
            ),
            WireError::NoPages => p(
                "22023",
                "EventBook has no pages to append".into(),
                "The book has 0 pages.".into(),
                "Add one EventPage per event.",
            ),
            WireError::BadPage { page, pages, problem } => p(
                "22023",
                format!("EventBook page {page} {problem}"),
                format!("The book has {pages} pages, numbered from 0."),
                "Every page needs an event (google.protobuf.Any) whose type_url names the event type.",
            ),
            WireError::BadTimestamp { page, seconds, nanos } => p(
                "22008",
                format!("EventBook page {page} has a created_at PostgreSQL cannot store"),
                format!("created_at is {seconds} seconds and {nanos} nanos after the Unix epoch."),
                "Use a time between 4713 BC and 294276 AD with nanos in 0..999999999, or leave created_at unset.",
            ),
            WireError::OutOfRange { field, value } => p(
                "22003",
                format!("{field} {value} does not fit an EventBook"),
                format!("The protobuf field is a uint32 (0..4294967295); got {value}."),
                "Read aggregates this long with angzarr.read_stream() instead.",
            ),
            WireError::ArrayLengths { what, lengths } => p(
                "22023",
                format!("{what} arrays have different lengths"),
                format!("Lengths: {lengths:?}."),
                "Pass one element per event in every array.",
            ),
            WireError::BadRetention(name) => p(
                "22023",
                format!("unknown snapshot retention {name:?}"),
                "Known retentions: default, persist, transient.".into(),
                "Pass 'default', 'persist' or 'transient'.",
            ),
        }
    }
}

/// One page of a decoded book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The page header's sequence: an explicit expected sequence, or `None` to have one assigned.
    pub sequence: Option<i64>,
    pub event_type: String,
    pub payload: Vec<u8>,
    /// PostgreSQL microseconds (since 2000-01-01 UTC).
    pub created_at: Option<i64>,
}

/// A decoded book: one aggregate and its pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    pub domain: String,
    /// Normalised: an empty name is the main edition.
    pub edition: String,
    pub root: [u8; 16],
    pub correlation_id: Option<String>,
    pub pages: Vec<Page>,
}

/// Decodes a book to append. The snapshot and next_sequence fields are not needed for that
/// and are ignored.
pub fn decode(bytes: &[u8]) -> Result<Book, WireError> {
    let book = pb::EventBook::decode(bytes).map_err(|e| WireError::Malformed {
        len: bytes.len(),
        reason: e.to_string(),
    })?;
    let cover = book.cover.ok_or(WireError::Missing { field: "cover" })?;
    if cover.domain.is_empty() {
        return Err(WireError::Missing {
            field: "cover.domain",
        });
    }
    let root = cover.root.ok_or(WireError::Missing {
        field: "cover.root",
    })?;
    let root: [u8; 16] = root
        .value
        .as_slice()
        .try_into()
        .map_err(|_| WireError::BadRoot {
            len: root.value.len(),
        })?;
    let edition = cover.edition.map(|e| e.name).filter(|n| !n.is_empty());
    if book.pages.is_empty() {
        return Err(WireError::NoPages);
    }
    let count = book.pages.len();
    let pages = book
        .pages
        .into_iter()
        .enumerate()
        .map(|(i, page)| decode_page(i, count, page))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Book {
        domain: cover.domain,
        edition: edition.unwrap_or_else(|| MAIN_EDITION.to_string()),
        root,
        correlation_id: Some(cover.correlation_id).filter(|c| !c.is_empty()),
        pages,
    })
}

fn decode_page(page: usize, pages: usize, p: pb::EventPage) -> Result<Page, WireError> {
    let event = p.event.ok_or(WireError::BadPage {
        page,
        pages,
        problem: "has no event",
    })?;
    if event.type_url.is_empty() {
        return Err(WireError::BadPage {
            page,
            pages,
            problem: "has an event with an empty type_url",
        });
    }
    let created_at = match p.created_at {
        None => None,
        Some(t) => Some(timestamp_to_pg(&t).ok_or(WireError::BadTimestamp {
            page,
            seconds: t.seconds,
            nanos: t.nanos,
        })?),
    };
    Ok(Page {
        sequence: p
            .header
            .and_then(|h| h.sequence_type)
            .map(|SequenceType::Sequence(s)| i64::from(s)),
        event_type: event.type_url,
        payload: event.value,
        created_at,
    })
}

/// A protobuf timestamp as PostgreSQL microseconds, if PostgreSQL can store it.
pub fn timestamp_to_pg(t: &prost_types::Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return None;
    }
    let unix = t
        .seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(t.nanos / 1000))?;
    let pg = unix.checked_sub(PG_EPOCH_OFFSET_MICROS)?;
    (PG_MIN_MICROS..PG_END_MICROS).contains(&pg).then_some(pg)
}

/// PostgreSQL microseconds as a protobuf timestamp (infinite values have none).
pub fn pg_to_timestamp(pg: i64) -> Option<prost_types::Timestamp> {
    if !(PG_MIN_MICROS..PG_END_MICROS).contains(&pg) {
        return None;
    }
    let unix = pg + PG_EPOCH_OFFSET_MICROS;
    Some(prost_types::Timestamp {
        seconds: unix.div_euclid(1_000_000),
        nanos: (unix.rem_euclid(1_000_000) * 1000) as i32,
    })
}

/// The snapshot of a book to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotOut {
    pub sequence: i64,
    pub state_type: String,
    pub state: Vec<u8>,
    /// `default`, `persist` or `transient`.
    pub retention: String,
}

/// One event of a book to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOut {
    /// `None` encodes a page without a sequence in its header (angzarr's deferred sequence):
    /// appended, it gets the aggregate's next sequence, whatever that is.
    pub sequence: Option<i64>,
    pub event_type: String,
    pub payload: Vec<u8>,
    /// PostgreSQL microseconds.
    pub created_at: Option<i64>,
}

/// An aggregate's history to encode as an EventBook.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookOut {
    pub domain: String,
    pub edition: String,
    pub root: [u8; 16],
    pub correlation_id: Option<String>,
    /// Explicit divergence points of the edition: (domain, sequence).
    pub divergences: Vec<(String, i64)>,
    pub snapshot: Option<SnapshotOut>,
    pub events: Vec<EventOut>,
    pub next_sequence: i64,
}

fn to_u32(field: &'static str, value: i64) -> Result<u32, WireError> {
    u32::try_from(value).map_err(|_| WireError::OutOfRange { field, value })
}

/// The protobuf value of a retention name.
pub fn retention_value(name: &str) -> Result<pb::SnapshotRetention, WireError> {
    match name {
        "default" => Ok(pb::SnapshotRetention::RetentionDefault),
        "persist" => Ok(pb::SnapshotRetention::RetentionPersist),
        "transient" => Ok(pb::SnapshotRetention::RetentionTransient),
        other => Err(WireError::BadRetention(other.to_string())),
    }
}

/// Encodes an aggregate's history (every page carries its sequence in the header) or a batch
/// to append (pages without a sequence have no header: no expectation, the store assigns one).
pub fn encode(b: &BookOut) -> Result<Vec<u8>, WireError> {
    let divergences = b
        .divergences
        .iter()
        .map(|(domain, seq)| {
            Ok(pb::DomainDivergence {
                domain: domain.clone(),
                sequence: to_u32("divergence sequence", *seq)?,
            })
        })
        .collect::<Result<Vec<_>, WireError>>()?;
    let snapshot = match &b.snapshot {
        None => None,
        Some(s) => Some(pb::Snapshot {
            sequence: to_u32("snapshot sequence", s.sequence)?,
            state: Some(prost_types::Any {
                type_url: s.state_type.clone(),
                value: s.state.clone(),
            }),
            retention: retention_value(&s.retention)? as i32,
        }),
    };
    let pages = b
        .events
        .iter()
        .map(|e| {
            let header = match e.sequence {
                None => None,
                Some(s) => Some(pb::PageHeader {
                    sequence_type: Some(SequenceType::Sequence(to_u32("sequence", s)?)),
                }),
            };
            Ok(pb::EventPage {
                header,
                created_at: e.created_at.and_then(pg_to_timestamp),
                event: Some(prost_types::Any {
                    type_url: e.event_type.clone(),
                    value: e.payload.clone(),
                }),
            })
        })
        .collect::<Result<Vec<_>, WireError>>()?;
    let book = pb::EventBook {
        cover: Some(pb::Cover {
            root: Some(pb::Uuid {
                value: b.root.to_vec(),
            }),
            domain: b.domain.clone(),
            correlation_id: b.correlation_id.clone().unwrap_or_default(),
            edition: Some(pb::Edition {
                name: b.edition.clone(),
                divergences,
            }),
        }),
        snapshot,
        pages,
        next_sequence: to_u32("next_sequence", b.next_sequence)?,
    };
    Ok(book.encode_to_vec())
}
