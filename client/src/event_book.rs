//! angzarr's protobuf EventBook: appending one, reading an aggregate or a business process as
//! books, and converting between books and this crate's event types.

use angzarr_store_proto::{page_header, Cover, Edition, EventBook, EventPage, PageHeader};
use prost::Message;
use prost_types::{Any, Timestamp};
use uuid::Uuid;

use crate::aggregate::AggregateId;
use crate::append::{Append, Appended};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::event::{NewEvent, RecordedEvent};
use crate::load::Snapshots;
use crate::store::EventStore;

/// A protobuf UUID message from a [`Uuid`].
pub fn proto_uuid(root: Uuid) -> angzarr_store_proto::Uuid {
    angzarr_store_proto::Uuid {
        value: root.as_bytes().to_vec(),
    }
}

/// The root a book's cover names.
pub fn cover_root(book: &EventBook) -> Result<Uuid> {
    let bytes = book
        .cover
        .as_ref()
        .and_then(|c| c.root.as_ref())
        .map(|r| r.value.as_slice());
    bytes
        .and_then(|b| Uuid::from_slice(b).ok())
        .ok_or_else(|| Error::invalid("the EventBook's cover has no 16-byte root"))
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn page_sequence(sequence: i64) -> Option<PageHeader> {
    let sequence = u32::try_from(sequence).ok()?;
    Some(PageHeader {
        sequence_type: Some(page_header::SequenceType::Sequence(sequence)),
    })
}

impl RecordedEvent {
    /// The event as an angzarr EventPage (header sequence, created_at, `Any` event).
    pub fn to_event_page(&self) -> EventPage {
        EventPage {
            header: page_sequence(self.sequence),
            created_at: Some(timestamp(self.created_at)),
            event: Some(self.to_any()),
        }
    }
}

impl NewEvent {
    /// The event an EventPage carries; `None` when the page has no event.
    pub fn from_event_page(page: &EventPage) -> Option<Self> {
        page.event.clone().map(NewEvent::from_any)
    }
}

impl Append {
    /// The batch as an angzarr EventBook, as [`EventStore::append_event_book`] takes it. With
    /// an expectation, page headers carry the sequences the pages must get (that is how a book
    /// says "expected"); with [`Expected::Any`](crate::Expected::Any) they carry none.
    pub fn to_event_book(&self) -> EventBook {
        let first = self.expected.as_sql();
        let pages = self
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| EventPage {
                header: first.and_then(|f| page_sequence(f + i as i64)),
                created_at: None,
                event: Some(Any {
                    type_url: e.event_type.clone(),
                    value: e.payload.clone(),
                }),
            })
            .collect();
        let edition = Some(self.aggregate.edition()).filter(|_| !self.aggregate.is_main());
        EventBook {
            cover: Some(Cover {
                root: Some(proto_uuid(self.aggregate.root())),
                domain: self.aggregate.domain().to_string(),
                correlation_id: self.correlation_id.clone().unwrap_or_default(),
                edition: edition.map(|name| Edition {
                    name: name.to_string(),
                    divergences: Vec::new(),
                }),
            }),
            snapshot: None,
            pages,
            next_sequence: 0,
        }
    }
}

impl EventStore {
    /// Appends the pages of an EventBook to the aggregate its cover names, atomically. A page
    /// whose header has a sequence must get exactly that sequence ([`Error::SequenceConflict`]
    /// otherwise); pages without one continue the aggregate. The book's snapshot and
    /// next_sequence are ignored.
    ///
    /// ```no_run
    /// use angzarr_store_client::{Snapshots, AggregateId, Append, EventStore, Expected, NewEvent};
    /// # async fn demo(store: EventStore, root: uuid::Uuid) -> angzarr_store_client::Result<()> {
    /// let book = Append::new(AggregateId::new("player", root), Expected::Any)
    ///     .expect(Expected::New)
    ///     .event(NewEvent::message(&prost_types::Duration { seconds: 5, nanos: 0 })?)
    ///     .to_event_book();
    /// store.append_event_book(store.pool(), &book, None).await?;
    /// let read = store.read_event_book(store.pool(), &AggregateId::new("player", root), Snapshots::Use).await?;
    /// assert_eq!(read.next_sequence, 1);
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "angzarr.append_event_book", skip_all, err,
                          fields(domain = book.cover.as_ref().map_or("", |c| c.domain.as_str()),
                                 events = book.pages.len()))]
    pub async fn append_event_book<'c>(
        &self,
        db: impl Into<Db<'c>>,
        book: &EventBook,
        idempotency_key: Option<&str>,
    ) -> Result<Appended> {
        let mut conn = self.conn(db).await?;
        let appended: Appended = sqlx::query_as(include_str!("sql/append_event_book.sql"))
            .bind(book.encode_to_vec())
            .bind(idempotency_key)
            .fetch_one(&mut *conn)
            .await?;
        crate::telemetry::appended(book.pages.len());
        Ok(appended)
    }

    /// The aggregate as an EventBook: its newest usable snapshot, the pages after it (each
    /// with its sequence) and next_sequence, like [`load_aggregate`](Self::load_aggregate).
    #[tracing::instrument(name = "angzarr.read_event_book", skip_all, err,
                          fields(domain = aggregate.domain(), edition = aggregate.edition(), root = %aggregate.root()))]
    pub async fn read_event_book<'c>(
        &self,
        db: impl Into<Db<'c>>,
        aggregate: &AggregateId,
        snapshots: Snapshots,
    ) -> Result<EventBook> {
        let mut conn = self.conn(db).await?;
        let bytes: Vec<u8> = sqlx::query_scalar(include_str!("sql/read_event_book.sql"))
            .bind(aggregate.domain())
            .bind(aggregate.root())
            .bind(aggregate.edition())
            .bind(snapshots == Snapshots::Use)
            .fetch_one(&mut *conn)
            .await?;
        Ok(EventBook::decode(bytes.as_slice())?)
    }

    /// Every event with `correlation_id` as EventBooks, one per aggregate (angzarr's
    /// `get_by_correlation`), ordered by domain, edition and root.
    #[tracing::instrument(name = "angzarr.read_correlation_books", skip_all, err)]
    pub async fn read_correlation_books<'c>(
        &self,
        db: impl Into<Db<'c>>,
        correlation_id: &str,
    ) -> Result<Vec<EventBook>> {
        let mut conn = self.conn(db).await?;
        let books: Vec<Vec<u8>> =
            sqlx::query_scalar(include_str!("sql/read_correlation_books.sql"))
                .bind(correlation_id)
                .fetch_all(&mut *conn)
                .await?;
        books
            .iter()
            .map(|b| Ok(EventBook::decode(b.as_slice())?))
            .collect()
    }

    /// The server's JSON view of a book (payloads as JSON where they are JSON text): handy in
    /// logs and error reports.
    pub async fn event_book_to_json<'c>(
        &self,
        db: impl Into<Db<'c>>,
        book: &EventBook,
    ) -> Result<serde_json::Value> {
        let mut conn = self.conn(db).await?;
        Ok(
            sqlx::query_scalar(include_str!("sql/event_book_to_json.sql"))
                .bind(book.encode_to_vec())
                .fetch_one(&mut *conn)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::AggregateId;
    use crate::append::Expected;

    #[test]
    fn an_append_becomes_a_book_with_expected_sequences() {
        let root = Uuid::new_v4();
        let book = Append::new(
            AggregateId::new("player", root).in_edition("what-if"),
            Expected::Next(3),
        )
        .correlation_id("c")
        .events([NewEvent::new("A", vec![1]), NewEvent::new("B", vec![2])])
        .to_event_book();
        assert_eq!(cover_root(&book).unwrap(), root);
        let cover = book.cover.as_ref().unwrap();
        assert_eq!(
            (cover.domain.as_str(), cover.correlation_id.as_str()),
            ("player", "c")
        );
        assert_eq!(cover.edition.as_ref().unwrap().name, "what-if");
        let seqs: Vec<_> = book
            .pages
            .iter()
            .map(|p| p.header.and_then(|h| h.sequence_type))
            .collect();
        assert_eq!(
            seqs,
            [
                Some(page_header::SequenceType::Sequence(3)),
                Some(page_header::SequenceType::Sequence(4))
            ]
        );
        let any = Append::new(AggregateId::new("player", root), Expected::Any)
            .event(NewEvent::new("A", vec![]))
            .to_event_book();
        assert!(any.pages[0].header.is_none());
        assert!(any.cover.unwrap().edition.is_none());
        assert_eq!(
            NewEvent::from_event_page(&book.pages[1]),
            Some(NewEvent::new("B", vec![2]))
        );
    }
}
