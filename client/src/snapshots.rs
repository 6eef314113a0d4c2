//! Snapshots: cached aggregate state at a sequence, so loading does not replay all history.

use chrono::{DateTime, Utc};
use prost::Name;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::aggregate::AggregateId;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::event::{decode_json, decode_message, type_url};
use crate::store::EventStore;

/// How long a snapshot is kept (angzarr's `SnapshotRetention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Kept as the newest of its 16-sequence window; replaced by a newer one in the same window.
    #[default]
    Default,
    /// Kept until the aggregate's snapshots are deleted (business milestones).
    Persist,
    /// Replaced by any newer snapshot.
    Transient,
}

impl Retention {
    fn as_sql(self) -> &'static str {
        match self {
            Retention::Default => "default",
            Retention::Persist => "persist",
            Retention::Transient => "transient",
        }
    }

    pub(crate) fn from_sql(text: &str) -> Result<Self> {
        match text {
            "default" => Ok(Retention::Default),
            "persist" => Ok(Retention::Persist),
            "transient" => Ok(Retention::Transient),
            other => Err(Error::invalid(format!(
                "unknown snapshot retention {other:?}"
            ))),
        }
    }
}

/// A stored snapshot: the aggregate's state after events `0..=sequence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last event the state includes.
    pub sequence: i64,
    /// The serialised state, byte for byte as put.
    pub state: Vec<u8>,
    /// What the state is (a protobuf type URL), when the writer said.
    pub state_type: Option<String>,
    /// How long it is kept.
    pub retention: Retention,
    /// When it was put.
    pub created_at: DateTime<Utc>,
}

impl Snapshot {
    pub(crate) fn from_row(row: &PgRow, state: &str, state_type: &str) -> Result<Self> {
        Ok(Snapshot {
            sequence: row.try_get("sequence")?,
            state: row.try_get(state)?,
            state_type: row.try_get(state_type)?,
            retention: Retention::from_sql(row.try_get::<&str, _>("retention")?)?,
            created_at: row.try_get("created_at")?,
        })
    }

    /// The state parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json(&self.state)
    }

    /// The state decoded as protobuf message `M` (checked against `state_type` when set).
    pub fn message<M: Name + Default>(&self) -> Result<M> {
        decode_message(self.state_type.as_deref(), &self.state)
    }

    /// The sequence the aggregate's next event gets if nothing follows the snapshot.
    pub fn next_sequence(&self) -> i64 {
        self.sequence + 1
    }
}

/// What [`EventStore::put_snapshot`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPut {
    /// False when a newer stored snapshot already supersedes this one (it was not stored).
    pub stored: bool,
    /// How many older snapshots this one superseded and removed.
    pub removed: i64,
}

/// A snapshot to put.
///
/// ```
/// use angzarr_store_client::{AggregateId, PutSnapshot, Retention};
///
/// #[derive(serde::Serialize)]
/// struct Balance { amount: i64 }
///
/// let account = AggregateId::new("account", uuid::Uuid::nil());
/// let put = PutSnapshot::json(account, 41, &Balance { amount: 10 })?
///     .retention(Retention::Persist);
/// assert_eq!(put.state, br#"{"amount":10}"#);
/// # Ok::<(), angzarr_store_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a PutSnapshot does nothing until passed to EventStore::put_snapshot"]
pub struct PutSnapshot {
    /// The aggregate (and edition).
    pub aggregate: AggregateId,
    /// The last event the state includes; must exist.
    pub sequence: i64,
    /// The serialised state.
    pub state: Vec<u8>,
    /// What the state is, if you want it recorded.
    pub state_type: Option<String>,
    /// How long to keep it.
    pub retention: Retention,
}

impl PutSnapshot {
    /// A snapshot of raw bytes.
    pub fn new(aggregate: AggregateId, sequence: i64, state: impl Into<Vec<u8>>) -> Self {
        PutSnapshot {
            aggregate,
            sequence,
            state: state.into(),
            state_type: None,
            retention: Retention::Default,
        }
    }

    /// A snapshot whose state is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(
        aggregate: AggregateId,
        sequence: i64,
        value: &T,
    ) -> Result<Self> {
        Ok(Self::new(aggregate, sequence, serde_json::to_vec(value)?))
    }

    /// A snapshot whose state is protobuf message `state`, typed with its type URL.
    pub fn message<M: Name>(aggregate: AggregateId, sequence: i64, state: &M) -> Self {
        let mut put = Self::new(aggregate, sequence, state.encode_to_vec());
        put.state_type = Some(type_url::<M>());
        put
    }

    /// Sets the retention.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Records what the state is.
    pub fn state_type(mut self, state_type: impl Into<String>) -> Self {
        self.state_type = Some(state_type.into());
        self
    }
}

impl EventStore {
    /// Stores a snapshot and, in the same transaction, drops the older ones it supersedes under
    /// their retention. A snapshot older than one that supersedes it is not stored
    /// ([`SnapshotPut::stored`] is false). Fails with
    /// [`Error::SnapshotBeyondHead`] when the aggregate has no event at `sequence`.
    #[tracing::instrument(name = "angzarr.put_snapshot", skip_all, err,
                          fields(domain = %put.aggregate.domain(), edition = %put.aggregate.edition(),
                                 root = %put.aggregate.root(), sequence = put.sequence, bytes = put.state.len()))]
    pub async fn put_snapshot<'c>(
        &self,
        db: impl Into<Db<'c>>,
        put: &PutSnapshot,
    ) -> Result<SnapshotPut> {
        let mut conn = self.conn(db).await?;
        let row = sqlx::query(include_str!("sql/put_snapshot.sql"))
            .bind(put.aggregate.domain())
            .bind(put.aggregate.root())
            .bind(put.sequence)
            .bind(&put.state)
            .bind(put.retention.as_sql())
            .bind(put.aggregate.edition())
            .bind(put.state_type.as_deref())
            .fetch_one(&mut *conn)
            .await?;
        Ok(SnapshotPut {
            stored: row.try_get("stored")?,
            removed: row.try_get("removed")?,
        })
    }

    /// The aggregate's newest snapshot in `edition`, or its newest at or below `max_sequence`.
    /// Snapshots belong to one edition here; [`load_aggregate`](Self::load_aggregate) also
    /// uses main's snapshots that a named edition shares.
    #[tracing::instrument(name = "angzarr.get_snapshot", skip_all, err,
                          fields(domain = aggregate.domain(), edition = aggregate.edition(), root = %aggregate.root()))]
    pub async fn get_snapshot<'c>(
        &self,
        db: impl Into<Db<'c>>,
        aggregate: &AggregateId,
        max_sequence: Option<i64>,
    ) -> Result<Option<Snapshot>> {
        let mut conn = self.conn(db).await?;
        let row = sqlx::query(include_str!("sql/get_snapshot.sql"))
            .bind(aggregate.domain())
            .bind(aggregate.root())
            .bind(max_sequence)
            .bind(aggregate.edition())
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| Snapshot::from_row(&r, "state", "state_type"))
            .transpose()
    }

    /// Drops every snapshot of the aggregate in `edition` (e.g. after the state's shape
    /// changed); returns how many.
    #[tracing::instrument(name = "angzarr.delete_snapshots", skip_all, err,
                          fields(domain = aggregate.domain(), edition = aggregate.edition(), root = %aggregate.root()))]
    pub async fn delete_snapshots<'c>(
        &self,
        db: impl Into<Db<'c>>,
        aggregate: &AggregateId,
    ) -> Result<i64> {
        let mut conn = self.conn(db).await?;
        Ok(sqlx::query_scalar(include_str!("sql/delete_snapshots.sql"))
            .bind(aggregate.domain())
            .bind(aggregate.root())
            .bind(aggregate.edition())
            .fetch_one(&mut *conn)
            .await?)
    }
}
