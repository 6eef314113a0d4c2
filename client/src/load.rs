//! Loading an aggregate to decide a command: its newest usable snapshot and the events after
//! it, from one consistent read.

use chrono::{DateTime, Utc};
use prost::Name;
use serde::de::DeserializeOwned;
use sqlx::Row;

use crate::aggregate::AggregateId;
use crate::append::Expected;
use crate::db::Db;
use crate::error::Result;
use crate::event::{decode_json, decode_message, is_message};
use crate::snapshots::Snapshot;
use crate::store::EventStore;

/// An event as [`EventStore::load_aggregate`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedEvent {
    /// Position in the aggregate.
    pub sequence: i64,
    /// The event's type.
    pub event_type: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// The business process it belongs to, if any.
    pub correlation_id: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl LoadedEvent {
    /// The payload parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json(&self.payload)
    }

    /// True when the event holds a protobuf message of type `M`.
    pub fn is<M: Name>(&self) -> bool {
        is_message::<M>(&self.event_type)
    }

    /// The payload decoded as protobuf message `M`.
    pub fn message<M: Name + Default>(&self) -> Result<M> {
        decode_message(Some(&self.event_type), &self.payload)
    }
}

/// What it takes to rebuild an aggregate: start from `snapshot` (or the empty state), apply
/// `events` in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct LoadedAggregate {
    /// The newest usable snapshot, if any.
    pub snapshot: Option<Snapshot>,
    /// The events after the snapshot (all of them without one), oldest first.
    pub events: Vec<LoadedEvent>,
}

impl LoadedAggregate {
    /// The sequence the next event will get: what was loaded is exactly `0..next_sequence`.
    pub fn next_sequence(&self) -> i64 {
        match (self.events.last(), &self.snapshot) {
            (Some(e), _) => e.sequence + 1,
            (None, Some(s)) => s.sequence + 1,
            (None, None) => 0,
        }
    }

    /// The expectation for appending a decision based on this load.
    pub fn expected(&self) -> Expected {
        match self.next_sequence() {
            0 => Expected::New,
            n => Expected::Next(n),
        }
    }
}

/// Whether [`EventStore::load_aggregate`] starts from the newest usable snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Snapshots {
    /// Start from the newest usable snapshot, then the events after it.
    #[default]
    Use,
    /// Replay every event from the start (e.g. after changing how state is built).
    Ignore,
}

impl EventStore {
    /// Loads an aggregate in one read: its newest usable snapshot, then the events after it
    /// ([`Snapshots::Ignore`] replays everything). On a named edition, main's snapshots below
    /// the divergence point count too. All events after the snapshot come back in one vector:
    /// snapshot often, or [`read_stream`](Self::read_stream) a very long history instead.
    ///
    /// ```no_run
    /// use angzarr_store_client::{Expected, AggregateId, Append, EventStore, NewEvent, Snapshots};
    /// # async fn demo(store: EventStore, root: uuid::Uuid) -> angzarr_store_client::Result<()> {
    /// let account = AggregateId::new("account", root);
    /// let loaded = store.load_aggregate(store.pool(), &account, Snapshots::Use).await?;
    /// let mut balance: i64 = match &loaded.snapshot {
    ///     Some(s) => s.json()?,
    ///     None => 0,
    /// };
    /// for e in &loaded.events {
    ///     balance += e.json::<i64>()?;
    /// }
    /// store.append(store.pool(), &Append::new(account, loaded.expected())
    ///     .event(NewEvent::json("Deposited", &10)?)).await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "angzarr.load_aggregate", skip_all, err,
                          fields(domain = aggregate.domain(), edition = aggregate.edition(),
                                 root = %aggregate.root(), events = tracing::field::Empty))]
    pub async fn load_aggregate<'c>(
        &self,
        db: impl Into<Db<'c>>,
        aggregate: &AggregateId,
        snapshots: Snapshots,
    ) -> Result<LoadedAggregate> {
        let mut conn = self.conn(db).await?;
        let rows = sqlx::query(include_str!("sql/load_aggregate.sql"))
            .bind(aggregate.domain())
            .bind(aggregate.root())
            .bind(aggregate.edition())
            .bind(snapshots == Snapshots::Use)
            .fetch_all(&mut *conn)
            .await?;
        let mut loaded = LoadedAggregate {
            snapshot: None,
            events: Vec::with_capacity(rows.len()),
        };
        for row in &rows {
            if row.try_get::<&str, _>("kind")? == "snapshot" {
                loaded.snapshot = Some(Snapshot::from_row(row, "data", "type")?);
            } else {
                loaded.events.push(LoadedEvent {
                    sequence: row.try_get("sequence")?,
                    event_type: row.try_get("type")?,
                    payload: row.try_get("data")?,
                    correlation_id: row.try_get("correlation_id")?,
                    created_at: row.try_get("created_at")?,
                });
            }
        }
        tracing::Span::current().record("events", loaded.events.len());
        Ok(loaded)
    }
}
