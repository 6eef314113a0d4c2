//! Correlation: every event of one business process, across domains and aggregates.

use uuid::Uuid;

use crate::aggregate::AggregateId;
use crate::db::Db;
use crate::error::Result;
use crate::event::RecordedEvent;
use crate::store::EventStore;

/// One aggregate's events as [`EventStore::show_stream`] shows them to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownEvent {
    /// Position in the aggregate.
    pub sequence: i64,
    /// The event's type.
    pub event_type: String,
    /// When it was written.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Its correlation id, if any.
    pub correlation_id: Option<String>,
    /// The payload as JSON text when it is JSON, else `(N bytes)`.
    pub payload: String,
    /// The edition the event is stored in (main's for shared history).
    pub stored_in: String,
}

impl EventStore {
    /// Every event with `correlation_id`, across domains, editions and aggregates: grouped per
    /// aggregate (by domain, edition, root), in sequence order within each. An empty id matches
    /// nothing.
    #[tracing::instrument(name = "angzarr.read_correlation", skip_all, err,
                          fields(correlation_id = correlation_id, events = tracing::field::Empty))]
    pub async fn read_correlation<'c>(
        &self,
        db: impl Into<Db<'c>>,
        correlation_id: &str,
    ) -> Result<Vec<RecordedEvent>> {
        let mut conn = self.conn(db).await?;
        let rows = sqlx::query(include_str!("sql/read_correlation.sql"))
            .bind(correlation_id)
            .fetch_all(&mut *conn)
            .await?;
        tracing::Span::current().record("events", rows.len());
        rows.iter()
            .map(|r| RecordedEvent::from_row(r, "", Uuid::nil()))
            .collect()
    }

    /// One aggregate's events in readable form (payload as JSON text or its size), as
    /// `angzarr.show_stream()` prints them in psql. For tools and logs; programs decode
    /// [`RecordedEvent`]s instead.
    pub async fn show_stream<'c>(
        &self,
        db: impl Into<Db<'c>>,
        aggregate: &AggregateId,
    ) -> Result<Vec<ShownEvent>> {
        use sqlx::Row;
        let mut conn = self.conn(db).await?;
        let rows = sqlx::query(include_str!("sql/show_stream.sql"))
            .bind(aggregate.domain())
            .bind(aggregate.root())
            .bind(aggregate.edition())
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ShownEvent {
                    sequence: r.try_get("sequence")?,
                    event_type: r.try_get("event_type")?,
                    created_at: r.try_get("created_at")?,
                    correlation_id: r.try_get("correlation_id")?,
                    payload: r.try_get("payload")?,
                    stored_in: r.try_get("stored_in")?,
                })
            })
            .collect()
    }
}
