//! Reading one aggregate as an async stream, a page of `angzarr.read_stream()` at a time, so an
//! aggregate of any length is never held in memory at once.

use crate::aggregate::AggregateId;
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::store::EventStore;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tracing::Instrument;

/// Which events of one aggregate to read: `[from, to)`, at most `max_count`, on an edition.
///
/// ```
/// use angzarr_store_client::{AggregateId, ReadStream};
/// let q = ReadStream::new(AggregateId::new("account", uuid::Uuid::nil())).from(10).to(20).max_count(5);
/// assert_eq!((q.from, q.to, q.max_count), (10, Some(20), Some(5)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadStream {
    /// The aggregate. On a named edition, main's history up to the divergence point is read,
    /// then the edition's own events.
    pub aggregate: AggregateId,
    /// First sequence to read (default 0).
    pub from: i64,
    /// Stop before this sequence (default: read to the end).
    pub to: Option<i64>,
    /// Read at most this many events (default: all).
    pub max_count: Option<i64>,
}

impl ReadStream {
    /// The whole aggregate (on its edition).
    pub fn new(aggregate: AggregateId) -> Self {
        ReadStream {
            aggregate,
            from: 0,
            to: None,
            max_count: None,
        }
    }

    /// Starts at `sequence` (inclusive).
    pub fn from(mut self, sequence: i64) -> Self {
        self.from = sequence;
        self
    }

    /// Stops before `sequence` (exclusive).
    pub fn to(mut self, sequence: i64) -> Self {
        self.to = Some(sequence);
        self
    }

    /// Reads at most `n` events.
    pub fn max_count(mut self, n: i64) -> Self {
        self.max_count = Some(n);
        self
    }
}

/// Where a paged read stands between round trips.
enum Cursor<'c> {
    Unopened(Db<'c>),
    /// `bounded`: ask for the window `[next, next + limit)` only. Sequences are gap-free, so a
    /// full window is a full page, and the server reads just that slice of the index. After a
    /// short window, one unbounded read makes sure nothing lies beyond it.
    Open {
        conn: Conn<'c>,
        next: i64,
        remaining: Option<i64>,
        bounded: bool,
        /// Events returned so far, for the span.
        seen: i64,
    },
    Done,
}

impl EventStore {
    /// Streams an aggregate's events, oldest first.
    ///
    /// Events are fetched [`page_size`](crate::EventStoreBuilder::with_page_size) at a time by
    /// sequence, so memory stays bounded by one page however long the aggregate is. The stream
    /// holds one connection (taken from `db`) until it ends or is dropped.
    ///
    /// ```no_run
    /// use angzarr_store_client::{AggregateId, EventStore, ReadStream};
    /// use futures_util::TryStreamExt;
    ///
    /// # async fn demo(store: EventStore, root: uuid::Uuid) -> angzarr_store_client::Result<()> {
    /// let mut events = store.read_stream(store.pool(), ReadStream::new(AggregateId::new("account", root)));
    /// while let Some(event) = events.try_next().await? {
    ///     println!("{} {}", event.sequence, event.event_type);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn read_stream<'c>(
        &self,
        db: impl Into<Db<'c>>,
        query: ReadStream,
    ) -> BoxStream<'c, Result<RecordedEvent>> {
        let store = self.clone();
        let page_size = self.settings().page_size;
        let span = tracing::info_span!(
            "angzarr.read_stream",
            domain = %query.aggregate.domain(),
            edition = %query.aggregate.edition(),
            root = %query.aggregate.root(),
            events = 0i64,
        );
        stream::try_unfold(Cursor::Unopened(db.into()), move |cursor| {
            let store = store.clone();
            let query = query.clone();
            let span_for_count = span.clone();
            async move {
                let (mut conn, next, remaining, bounded, seen) = match cursor {
                    Cursor::Done => return Ok(None),
                    Cursor::Open {
                        conn,
                        next,
                        remaining,
                        bounded,
                        seen,
                    } => (conn, next, remaining, bounded, seen),
                    Cursor::Unopened(db) => {
                        let conn = store.conn(db).await?;
                        (conn, query.from, query.max_count, true, 0)
                    }
                };
                let limit = remaining.map_or(page_size, |r| r.min(page_size));
                if limit <= 0 {
                    return Ok::<_, Error>(None);
                }
                let window_end = next.saturating_add(limit);
                let to = match query.to {
                    Some(to) if !bounded || to <= window_end => Some(to),
                    _ if bounded => Some(window_end),
                    _ => None,
                };
                // Not a named prepared statement: PostgreSQL then plans each page for its actual
                // bounds. A cached generic plan cannot use `sequence < to` as an index bound and
                // would scan the rest of the aggregate for every page.
                let rows = sqlx::query(include_str!("sql/read_stream.sql"))
                    .persistent(false)
                    .bind(query.aggregate.domain())
                    .bind(query.aggregate.root())
                    .bind(next)
                    .bind(to)
                    .bind(limit)
                    .bind(query.aggregate.edition())
                    .fetch_all(&mut *conn)
                    .await?;
                let page = rows
                    .iter()
                    .map(|r| {
                        RecordedEvent::from_row(r, query.aggregate.domain(), query.aggregate.root())
                    })
                    .collect::<Result<Vec<_>>>()?;
                let read = page.len() as i64;
                let remaining = remaining.map(|r| r - read);
                let seen = seen + read;
                span_for_count.record("events", seen);
                let cursor = match page.last() {
                    Some(last) if read == limit => Cursor::Open {
                        conn,
                        next: last.sequence + 1,
                        remaining,
                        bounded: true,
                        seen,
                    },
                    // A short window that stopped before the caller's end: look past it once.
                    _ if bounded && to != query.to => Cursor::Open {
                        conn,
                        next: window_end,
                        remaining,
                        bounded: false,
                        seen,
                    },
                    _ => Cursor::Done,
                };
                Ok(Some((page, cursor)))
            }
            .instrument(span.clone())
        })
        .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }
}
