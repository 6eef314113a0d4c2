//! Typed events: a user's event enum mapped to `event_type` + payload and back, so nobody keeps
//! a separate table of names. Two ready-made mappings: serde JSON ([`JsonEvent`], a marker
//! trait) and protobuf messages ([`prost_events!`](crate::prost_events), packed as
//! `google.protobuf.Any` with prost's own conversions).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::event::{NewEvent, RecordedEvent};
use crate::load::LoadedEvent;

/// An application's events as one Rust type.
///
/// Decoding a type the enum does not know is [`Error::UnknownEventType`], never a panic, so a
/// reader built before a new event existed can skip or park it.
pub trait DomainEvent: Sized {
    /// The stored type name and payload of this event.
    fn to_new_event(&self) -> Result<NewEvent>;
    /// The event stored as `event_type` with `payload`.
    fn from_stored(event_type: &str, payload: &[u8]) -> Result<Self>;
}

/// Marks a serde enum (externally tagged, serde's default) as a [`DomainEvent`] stored as
/// JSON: the variant's name is the event type, its content the payload.
///
/// ```
/// use angzarr_store_client::{DomainEvent, JsonEvent};
///
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// enum Account {
///     Opened { owner: String },
///     Deposited { amount: i64 },
///     Closed,
/// }
/// impl JsonEvent for Account {}
///
/// let stored = Account::Deposited { amount: 5 }.to_new_event()?;
/// assert_eq!((stored.event_type.as_str(), stored.payload.as_slice()), ("Deposited", &br#"{"amount":5}"#[..]));
/// assert_eq!(Account::from_stored("Closed", b"null")?, Account::Closed);
/// assert!(matches!(
///     Account::from_stored("Frozen", b"{}"),
///     Err(angzarr_store_client::Error::UnknownEventType { .. })
/// ));
/// # Ok::<(), angzarr_store_client::Error>(())
/// ```
pub trait JsonEvent: Serialize + DeserializeOwned {}

impl<T: JsonEvent> DomainEvent for T {
    fn to_new_event(&self) -> Result<NewEvent> {
        match serde_json::to_value(self)? {
            // A unit variant serialises as its name.
            serde_json::Value::String(name) => Ok(NewEvent::new(name, b"null".to_vec())),
            serde_json::Value::Object(map) if map.len() == 1 => {
                let (name, content) = map.into_iter().next().expect("one entry");
                Ok(NewEvent::new(name, serde_json::to_vec(&content)?))
            }
            other => Err(Error::invalid(format!(
                "a JsonEvent must be an externally tagged enum (serde's default); it serialised as {other}"
            ))),
        }
    }

    fn from_stored(event_type: &str, payload: &[u8]) -> Result<Self> {
        // Is the type known at all? A bare name is a unit variant, or fails with "unknown
        // variant" when the enum has no such name, whatever the payload holds.
        let name = serde_json::Value::String(event_type.to_string());
        match serde_json::from_value::<Self>(name) {
            Ok(unit) if payload.is_empty() || payload == b"null" => return Ok(unit),
            Err(e) if e.to_string().starts_with("unknown variant") => {
                return Err(Error::UnknownEventType {
                    event_type: event_type.to_string(),
                })
            }
            _ => {}
        }
        let content: serde_json::Value = serde_json::from_slice(payload)?;
        let tagged =
            serde_json::Value::Object([(event_type.to_string(), content)].into_iter().collect());
        Ok(serde_json::from_value(tagged)?)
    }
}

impl NewEvent {
    /// The event for a [`DomainEvent`] value.
    pub fn from_domain<E: DomainEvent>(event: &E) -> Result<Self> {
        event.to_new_event()
    }
}

impl RecordedEvent {
    /// This event as the application's event type; [`Error::UnknownEventType`] when `E` has
    /// no such type.
    pub fn decode<E: DomainEvent>(&self) -> Result<E> {
        E::from_stored(&self.event_type, &self.payload)
    }
}

impl LoadedEvent {
    /// This event as the application's event type; [`Error::UnknownEventType`] when `E` has
    /// no such type.
    pub fn decode<E: DomainEvent>(&self) -> Result<E> {
        E::from_stored(&self.event_type, &self.payload)
    }
}

/// Declares an enum of protobuf messages that is a [`DomainEvent`]: each variant holds one
/// prost message, stored as angzarr stores messages (`google.protobuf.Any`: the type URL is the
/// event type), with `prost_types::Any::from_msg` / `to_msg`.
///
/// ```
/// use angzarr_store_client::{prost_events, DomainEvent};
/// use prost_types::{Duration, Timestamp};
///
/// prost_events! {
///     /// What happened to a timer.
///     #[derive(Debug, PartialEq)]
///     pub enum TimerEvent {
///         Started(Timestamp),
///         Extended(Duration),
///     }
/// }
///
/// let stored = TimerEvent::Extended(Duration { seconds: 5, nanos: 0 }).to_new_event()?;
/// assert_eq!(stored.event_type, "type.googleapis.com/google.protobuf.Duration");
/// let back = TimerEvent::from_stored(&stored.event_type, &stored.payload)?;
/// assert_eq!(back, TimerEvent::Extended(Duration { seconds: 5, nanos: 0 }));
/// # Ok::<(), angzarr_store_client::Error>(())
/// ```
#[macro_export]
macro_rules! prost_events {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident($message:ty)),+ $(,)? }) => {
        $(#[$meta])*
        $vis enum $name { $($variant($message)),+ }

        impl $crate::DomainEvent for $name {
            fn to_new_event(&self) -> $crate::Result<$crate::NewEvent> {
                match self {
                    $($name::$variant(m) => Ok($crate::NewEvent::from_any(
                        $crate::__prost_types::Any::from_msg(m).map_err($crate::Error::from_encode)?,
                    ))),+
                }
            }

            fn from_stored(event_type: &str, payload: &[u8]) -> $crate::Result<Self> {
                let any = $crate::__prost_types::Any {
                    type_url: event_type.to_string(),
                    value: payload.to_vec(),
                };
                $(
                    if $crate::__is_message::<$message>(event_type) {
                        return Ok($name::$variant(any.to_msg::<$message>()?));
                    }
                )+
                Err($crate::Error::UnknownEventType { event_type: event_type.to_string() })
            }
        }
    };
}

#[doc(hidden)]
pub fn __is_message<M: prost::Name>(type_url: &str) -> bool {
    crate::event::is_message::<M>(type_url)
}
