//! Events going in ([`NewEvent`]) and coming out ([`RecordedEvent`]), with payload helpers for
//! serde JSON and for protobuf messages packed as `google.protobuf.Any`.

use chrono::{DateTime, Utc};
use prost::Name;
use prost_types::Any;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The main timeline's name; `None` or `""` as an edition mean this one.
pub const MAIN_EDITION: &str = "angzarr";

/// An event to append: a type name and an opaque payload.
///
/// ```
/// use angzarr_store_client::NewEvent;
///
/// #[derive(serde::Serialize)]
/// struct Deposited { amount: u64 }
///
/// let raw = NewEvent::new("Opened", b"\x01\x02".to_vec());
/// let json = NewEvent::json("Deposited", &Deposited { amount: 10 })?;
/// assert_eq!(json.payload, br#"{"amount":10}"#);
/// let any = NewEvent::message(&prost_types::Timestamp { seconds: 1, nanos: 0 })?;
/// assert_eq!(any.event_type, "type.googleapis.com/google.protobuf.Timestamp");
/// # Ok::<(), angzarr_store_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// What happened, e.g. `Deposited` or a protobuf type URL.
    pub event_type: String,
    /// The payload; the store never looks inside.
    pub payload: Vec<u8>,
}

impl NewEvent {
    /// An event with raw bytes as payload.
    pub fn new(event_type: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        NewEvent {
            event_type: event_type.into(),
            payload: payload.into(),
        }
    }

    /// An event whose payload is `value` as JSON text (readable in SQL with
    /// `angzarr.payload_json(payload)`).
    pub fn json<T: Serialize + ?Sized>(event_type: impl Into<String>, value: &T) -> Result<Self> {
        Ok(NewEvent {
            event_type: event_type.into(),
            payload: serde_json::to_vec(value)?,
        })
    }

    /// An event holding a protobuf message as angzarr does: the type is the message's type URL
    /// and the payload its encoding (together, a `google.protobuf.Any`).
    pub fn message<M: Name>(message: &M) -> Result<Self> {
        Ok(NewEvent {
            event_type: type_url::<M>(),
            payload: message.encode_to_vec(),
        })
    }

    /// An event from an already packed `google.protobuf.Any`.
    pub fn from_any(any: Any) -> Self {
        NewEvent {
            event_type: any.type_url,
            payload: any.value,
        }
    }
}

/// `M`'s type URL with the conventional `type.googleapis.com/` prefix when the generated
/// code leaves it out.
pub(crate) fn type_url<M: Name>() -> String {
    let url = M::type_url();
    match url.strip_prefix('/') {
        Some(name) => format!("type.googleapis.com/{name}"),
        None => url,
    }
}

/// The fully qualified message name in a type URL (`type.googleapis.com/a.B` -> `a.B`).
fn message_name(type_url: &str) -> &str {
    type_url.rsplit_once('/').map_or(type_url, |(_, name)| name)
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The aggregate's domain.
    pub domain: String,
    /// The aggregate's root.
    pub root: Uuid,
    /// The edition this event was written to (`angzarr` is main). On a named edition, events
    /// inherited from main before the divergence point say `angzarr`.
    pub edition: String,
    /// Gap-free position inside the aggregate: 0, 1, 2, ...
    pub sequence: i64,
    /// The event's type.
    pub event_type: String,
    /// The payload as appended.
    pub payload: Vec<u8>,
    /// The business process this event belongs to, if the writer said.
    pub correlation_id: Option<String>,
    /// When the writing transaction started (PostgreSQL `now()`).
    pub created_at: DateTime<Utc>,
    /// The event's unique id.
    pub id: Uuid,
    /// Position in the global feed (unique; ordered within one aggregate).
    pub global_position: i64,
}

impl RecordedEvent {
    /// Builds an event from a row that has the columns of `angzarr.read_stream()`; `domain` and
    /// `root` come from the row when it has them, else from the arguments.
    pub(crate) fn from_row(row: &PgRow, domain: &str, root: Uuid) -> Result<Self> {
        let domain = match row.try_get::<String, _>("domain") {
            Ok(d) => d,
            Err(sqlx::Error::ColumnNotFound(_)) => domain.to_string(),
            Err(e) => return Err(e.into()),
        };
        let root = match row.try_get::<Uuid, _>("root") {
            Ok(r) => r,
            Err(sqlx::Error::ColumnNotFound(_)) => root,
            Err(e) => return Err(e.into()),
        };
        Ok(RecordedEvent {
            domain,
            root,
            edition: row.try_get("edition")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            payload: row.try_get("payload")?,
            correlation_id: row.try_get("correlation_id")?,
            created_at: row.try_get("created_at")?,
            id: row.try_get("id")?,
            global_position: row.try_get("global_position")?,
        })
    }

    /// The payload parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json(&self.payload)
    }

    /// The event as a `google.protobuf.Any` (type URL = event type).
    pub fn to_any(&self) -> Any {
        Any {
            type_url: self.event_type.clone(),
            value: self.payload.clone(),
        }
    }

    /// True when the event holds a protobuf message of type `M`.
    pub fn is<M: Name>(&self) -> bool {
        is_message::<M>(&self.event_type)
    }

    /// The payload decoded as protobuf message `M`; [`Error::TypeMismatch`] when the event is
    /// of another type.
    ///
    /// ```
    /// use angzarr_store_client::NewEvent;
    /// use prost_types::{Duration, Timestamp};
    ///
    /// let stamp = Timestamp { seconds: 42, nanos: 0 };
    /// let event = NewEvent::message(&stamp)?;
    /// # let event = angzarr_store_client::RecordedEvent {
    /// #     domain: "d".into(), root: uuid::Uuid::nil(), edition: "angzarr".into(), sequence: 0,
    /// #     event_type: event.event_type, payload: event.payload, correlation_id: None,
    /// #     created_at: chrono::Utc::now(), id: uuid::Uuid::nil(), global_position: 1 };
    /// assert_eq!(event.message::<Timestamp>()?, stamp);
    /// assert!(event.message::<Duration>().is_err());
    /// # Ok::<(), angzarr_store_client::Error>(())
    /// ```
    pub fn message<M: Name + Default>(&self) -> Result<M> {
        decode_message(Some(&self.event_type), &self.payload)
    }
}

/// `bytes` parsed as JSON.
pub(crate) fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(serde_json::from_slice(bytes)?)
}

/// True when `type_url` names message `M` (any URL prefix).
pub(crate) fn is_message<M: Name>(type_url: &str) -> bool {
    message_name(type_url) == M::full_name()
}

/// `bytes` decoded as `M`, after checking `type_url` when there is one.
pub(crate) fn decode_message<M: Name + Default>(type_url: Option<&str>, bytes: &[u8]) -> Result<M> {
    if let Some(url) = type_url {
        if !is_message::<M>(url) {
            return Err(Error::TypeMismatch {
                expected: M::full_name(),
                actual: url.to_string(),
            });
        }
    }
    Ok(M::decode(bytes)?)
}
