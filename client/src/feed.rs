//! The global feed: every committed event in (feed_tx, global_position) order, read a page at
//! a time or tailed as an endless stream woken by NOTIFY, with saved consumer checkpoints.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, BoxStream, StreamExt};
use sqlx::postgres::{PgListener, PgRow};
use sqlx::Row;
use tokio::sync::watch;
use uuid::Uuid;

use crate::aggregate::AggregateId;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::event::RecordedEvent;
use crate::retry::RetryPolicy;
use crate::store::EventStore;

/// The channel the extension notifies on when `angzarr.notify = on`.
pub const NOTIFY_CHANNEL: &str = "angzarr_events";

/// A place in the global feed. The feed is ordered by `(feed_tx, global_position)`; reading
/// "after" a checkpoint returns only later events, and no event ever appears before one that
/// was already returned. `Checkpoint::default()` is the start of the feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checkpoint {
    /// The writing transaction's order key.
    pub feed_tx: i64,
    /// The event's global position.
    pub global_position: i64,
}

/// An event read from the feed, with the checkpoint to resume after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Save this once the event is processed; resume from it after a restart.
    pub checkpoint: Checkpoint,
    /// The event.
    pub event: RecordedEvent,
}

/// What to read from the feed: where to start and which events to keep.
///
/// ```
/// use angzarr_store_client::{Checkpoint, FeedQuery};
/// let q = FeedQuery::new()
///     .after(Checkpoint { feed_tx: 812, global_position: 40 })
///     .domains(["account"])
///     .event_types(["Deposited", "Withdrawn"])
///     .member(1, 3);
/// assert_eq!(q.members, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeedQuery {
    /// Read events after this checkpoint.
    pub after: Checkpoint,
    /// Only these domains (`None`: all).
    pub domains: Option<Vec<String>>,
    /// Only these editions (`None`: all).
    pub editions: Option<Vec<String>>,
    /// Only these event types (`None`: all).
    pub event_types: Option<Vec<String>>,
    /// This reader's number in a consumer group, `0..members`.
    pub member: i32,
    /// The consumer group's size; each aggregate's events go to exactly one member. 0 or 1
    /// mean no group.
    pub members: i32,
}

impl FeedQuery {
    /// The whole feed from its start.
    pub fn new() -> Self {
        FeedQuery {
            members: 1,
            ..Default::default()
        }
    }

    /// Starts after `checkpoint`.
    pub fn after(mut self, checkpoint: Checkpoint) -> Self {
        self.after = checkpoint;
        self
    }

    /// Keeps only these domains.
    pub fn domains<S: Into<String>>(mut self, domains: impl IntoIterator<Item = S>) -> Self {
        self.domains = Some(domains.into_iter().map(Into::into).collect());
        self
    }

    /// Keeps only these editions.
    pub fn editions<S: Into<String>>(mut self, editions: impl IntoIterator<Item = S>) -> Self {
        self.editions = Some(editions.into_iter().map(Into::into).collect());
        self
    }

    /// Keeps only these event types.
    pub fn event_types<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.event_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Reads as member `member` of a consumer group of `members`.
    pub fn member(mut self, member: i32, members: i32) -> Self {
        self.member = member;
        self.members = members;
        self
    }

    /// True when a notification naming these domains (comma-separated, `*` for "many") may
    /// concern this query.
    fn wants(&self, payload: &str) -> bool {
        match &self.domains {
            None => true,
            Some(domains) => {
                payload == "*" || payload.split(',').any(|d| domains.iter().any(|w| w == d))
            }
        }
    }
}

/// What [`EventStore::save_feed_position`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "Unchanged means another copy of the consumer got there first: roll back what this transaction applied"]
pub enum CheckpointSaved {
    /// The checkpoint moved forward to the one given.
    Moved,
    /// The stored checkpoint was already at or past it; nothing changed.
    Unchanged,
}

impl CheckpointSaved {
    /// True when the checkpoint moved.
    pub fn moved(self) -> bool {
        self == CheckpointSaved::Moved
    }
}

/// A consumer's saved feed checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedPosition {
    /// Where to resume; the feed's start when nothing was saved.
    pub checkpoint: Checkpoint,
    /// When it was last saved; `None` when never.
    pub updated_at: Option<DateTime<Utc>>,
}

fn feed_event(row: &PgRow) -> Result<FeedEvent> {
    let checkpoint = Checkpoint {
        feed_tx: row.try_get("feed_tx")?,
        global_position: row.try_get("global_position")?,
    };
    Ok(FeedEvent {
        checkpoint,
        event: RecordedEvent::from_row(row, "", Uuid::nil())?,
    })
}

fn checkpoint(row: &PgRow) -> Result<Checkpoint> {
    Ok(Checkpoint {
        feed_tx: row.try_get("feed_tx")?,
        global_position: row.try_get("global_position")?,
    })
}

impl EventStore {
    /// One page of the feed after `query.after`: at most `max_count` committed events, in feed
    /// order. Resume from the last event's [`FeedEvent::checkpoint`]. A filtered query can return
    /// a short page long before the end; see [`EventStore::feed_horizon`].
    #[tracing::instrument(name = "angzarr.read_feed", level = "debug", skip_all, err,
                          fields(after_feed_tx = query.after.feed_tx,
                                 after_position = query.after.global_position,
                                 events = tracing::field::Empty))]
    pub async fn read_feed<'c>(
        &self,
        db: impl Into<Db<'c>>,
        query: &FeedQuery,
        max_count: i64,
    ) -> Result<Vec<FeedEvent>> {
        let mut conn = self.conn(db).await?;
        // Planned for each call's filters (NULL or not) rather than one cached generic plan.
        let rows = sqlx::query(include_str!("sql/read_feed.sql"))
            .persistent(false)
            .bind(query.after.feed_tx)
            .bind(query.after.global_position)
            .bind(max_count)
            .bind(query.domains.as_deref())
            .bind(query.editions.as_deref())
            .bind(query.event_types.as_deref())
            .bind(query.member)
            .bind(query.members.max(1))
            .fetch_all(&mut *conn)
            .await?;
        tracing::Span::current().record("events", rows.len());
        rows.iter().map(feed_event).collect()
    }

    /// The checkpoint below which the feed is complete right now. A filtered reader that asks
    /// for this *before* [`read_feed`](Self::read_feed) and gets a short page may move its
    /// checkpoint up to it, so it does not rescan events that can never match.
    #[tracing::instrument(name = "angzarr.feed_horizon", level = "debug", skip_all, err)]
    pub async fn feed_horizon<'c>(&self, db: impl Into<Db<'c>>) -> Result<Checkpoint> {
        let mut conn = self.conn(db).await?;
        let row = sqlx::query(include_str!("sql/feed_horizon.sql"))
            .fetch_one(&mut *conn)
            .await?;
        checkpoint(&row)
    }

    /// Saves `consumer`'s checkpoint. Checkpoints only move forward: returns
    /// [`CheckpointSaved::Unchanged`] (and changes nothing) when the stored one is already at
    /// or past `checkpoint`, i.e. another copy of the consumer got there first; roll back what
    /// the transaction applied then, or use [`EventStore::projection`], which does.
    #[tracing::instrument(name = "angzarr.save_feed_position", skip_all, err,
                          fields(consumer = consumer, feed_tx = checkpoint.feed_tx,
                                 global_position = checkpoint.global_position))]
    pub async fn save_feed_position<'c>(
        &self,
        db: impl Into<Db<'c>>,
        consumer: &str,
        checkpoint: Checkpoint,
    ) -> Result<CheckpointSaved> {
        let mut conn = self.conn(db).await?;
        let moved: bool = sqlx::query_scalar(include_str!("sql/save_feed_position.sql"))
            .bind(consumer)
            .bind(checkpoint.feed_tx)
            .bind(checkpoint.global_position)
            .fetch_one(&mut *conn)
            .await?;
        Ok(if moved {
            CheckpointSaved::Moved
        } else {
            CheckpointSaved::Unchanged
        })
    }

    /// `consumer`'s saved checkpoint, or the feed's start when it has none.
    #[tracing::instrument(name = "angzarr.get_feed_position", skip_all, err, fields(consumer = consumer))]
    pub async fn get_feed_position<'c>(
        &self,
        db: impl Into<Db<'c>>,
        consumer: &str,
    ) -> Result<FeedPosition> {
        let mut conn = self.conn(db).await?;
        let row = sqlx::query(include_str!("sql/get_feed_position.sql"))
            .bind(consumer)
            .fetch_one(&mut *conn)
            .await?;
        Ok(FeedPosition {
            checkpoint: checkpoint(&row)?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Which member of a consumer group of `members` receives this aggregate's feed events.
    pub async fn feed_member<'c>(
        &self,
        db: impl Into<Db<'c>>,
        aggregate: &AggregateId,
        members: i32,
    ) -> Result<i32> {
        let mut conn = self.conn(db).await?;
        Ok(sqlx::query_scalar(include_str!("sql/feed_member.sql"))
            .bind(aggregate.domain())
            .bind(aggregate.root())
            .bind(members)
            .bind(aggregate.edition())
            .fetch_one(&mut *conn)
            .await?)
    }

    /// Tails the feed from `query.after`, forever: first everything already committed, then
    /// each new event as it commits.
    ///
    /// The tail LISTENs on [`NOTIFY_CHANNEL`] and reads as soon as a writer with
    /// `angzarr.notify = on` commits to a domain it follows; without notifications (or when
    /// LISTEN fails, or on a hot standby, where LISTEN is not available) it polls every
    /// [`feed_poll_interval`](crate::EventStoreBuilder::with_feed_poll_interval). Transient
    /// errors (a lost connection, ...) are retried with backoff inside the stream; any other
    /// error is yielded once and ends it. The tail reads from [`EventStore::read_pool`] (a
    /// replica, when the store has one) and LISTENs on [`EventStore::pool`]: one connection
    /// for LISTEN and one per read.
    ///
    /// ```no_run
    /// use angzarr_store_client::{EventStore, FeedQuery};
    /// use futures_util::TryStreamExt;
    ///
    /// # async fn demo(store: EventStore) -> angzarr_store_client::Result<()> {
    /// let start = store.get_feed_position(store.pool(), "audit").await?.checkpoint;
    /// let mut feed = store.tail_feed(FeedQuery::new().after(start).domains(["account"]));
    /// while let Some(item) = feed.try_next().await? {
    ///     println!("{} {}", item.event.root, item.event.event_type);
    ///     let _ = store.save_feed_position(store.pool(), "audit", item.checkpoint).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn tail_feed(&self, query: FeedQuery) -> BoxStream<'static, Result<FeedEvent>> {
        let tail = Tail::new(self.clone(), query);
        stream::unfold(tail, |mut tail| async move {
            let item = tail.next().await?;
            Some((item, tail))
        })
        .boxed()
    }
}

/// The state of one [`EventStore::tail_feed`] stream (and of a projection runner's reader).
pub(crate) struct Tail {
    store: EventStore,
    query: FeedQuery,
    listener: Option<PgListener>,
    /// Whether LISTEN was tried yet (it is tried once).
    listening: bool,
    buffer: VecDeque<FeedEvent>,
    /// Transient failures in a row, for the backoff.
    failures: u32,
    /// Reads since a notification that found nothing: the notified commit may still be
    /// behind the feed horizon (an older transaction is running), so look again soon.
    unseen_wakeup: Option<u32>,
    done: bool,
    /// Told `true` each time a read finds nothing new (the reader is at the head of the
    /// feed), `false` when a read finds events; the projection runner's readiness signal.
    caught_up: Option<watch::Sender<bool>>,
}

/// How many quick re-reads follow a notification whose events are not visible yet, and the
/// first pause between them (doubling: 25 ms, 50 ms, ... 3.2 s, about 6 s in all).
const WAKEUP_REREADS: u32 = 8;
const WAKEUP_REREAD_DELAY: Duration = Duration::from_millis(25);

impl Tail {
    pub(crate) fn new(store: EventStore, query: FeedQuery) -> Self {
        Tail {
            store,
            query,
            listener: None,
            listening: false,
            buffer: VecDeque::new(),
            failures: 0,
            unseen_wakeup: None,
            done: false,
            caught_up: None,
        }
    }

    /// Reports reaching the head of the feed on `sender` (see [`Tail::caught_up`]).
    pub(crate) fn report_caught_up(mut self, sender: watch::Sender<bool>) -> Self {
        self.caught_up = Some(sender);
        self
    }

    /// Up to `max` events (at least one), waiting for them as long as it takes; transient
    /// errors are retried inside, so an error here is fatal.
    pub(crate) async fn next_batch(&mut self, max: usize) -> Result<Vec<FeedEvent>> {
        if self.buffer.is_empty() {
            match self.next().await {
                Some(Ok(event)) => self.buffer.push_front(event),
                Some(Err(e)) => return Err(e),
                None => return Err(Error::invalid("the feed tail ended after a fatal error")),
            }
        }
        let n = max.max(1).min(self.buffer.len());
        let batch: Vec<FeedEvent> = self.buffer.drain(..n).collect();
        if let Some(last) = batch.last() {
            self.query.after = last.checkpoint;
        }
        Ok(batch)
    }

    fn set_caught_up(&self, value: bool) {
        if let Some(sender) = &self.caught_up {
            sender.send_if_modified(|c| std::mem::replace(c, value) != value);
        }
    }

    /// The next event, or `None` after a fatal error was yielded.
    async fn next(&mut self) -> Option<Result<FeedEvent>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(event) = self.buffer.pop_front() {
                self.query.after = event.checkpoint;
                return Some(Ok(event));
            }
            if !self.listening {
                self.listening = true;
                self.listener = self.listen().await;
            }
            match self.fill().await {
                Ok(true) => {
                    self.failures = 0;
                    self.unseen_wakeup = None;
                    self.set_caught_up(false);
                }
                Ok(false) => {
                    self.failures = 0;
                    self.set_caught_up(true);
                    self.wait().await;
                }
                Err(e) if e.is_transient() => {
                    self.failures += 1;
                    let delay = RetryPolicy::default().delay(self.failures);
                    tracing::warn!(error = %e, ?delay, "feed tail: transient error, retrying");
                    crate::telemetry::transient("feed_tail");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// LISTENs before the first read, so no commit after that read goes unnoticed.
    ///
    /// Notifications come from the primary ([`EventStore::pool`]), also when the feed is read
    /// from a replica; a notified commit not replayed there yet is read again shortly (see
    /// [`Tail::wait`]). A hot standby cannot LISTEN: when `pool` is one, the tail polls.
    async fn listen(&self) -> Option<PgListener> {
        match self.store.is_standby(self.store.pool()).await {
            Ok(false) => {}
            Ok(true) => {
                tracing::info!("feed tail: the server is a hot standby (no LISTEN there); polling");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "feed tail: cannot reach the server to LISTEN; polling");
                return None;
            }
        }
        let listener = async {
            let mut l = PgListener::connect_with(self.store.pool()).await?;
            l.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        };
        match listener.await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "feed tail: LISTEN failed; polling instead");
                None
            }
        }
    }

    /// Reads the next page into the buffer; false when there was nothing new.
    async fn fill(&mut self) -> Result<bool> {
        let store = &self.store;
        let page_size = store.settings().page_size;
        // The horizon and the page come from the same server: a horizon from a replica further
        // ahead than the one the page was read from would skip events.
        let mut conn = store.acquire_from(store.read_pool()).await?;
        let horizon = store.feed_horizon(&mut *conn).await?;
        let page = store.read_feed(&mut *conn, &self.query, page_size).await?;
        let full = page.len() as i64 == page_size;
        let found = !page.is_empty();
        self.buffer.extend(page);
        if !full && self.buffer.is_empty() && horizon > self.query.after {
            // Nothing up to the horizon matched; skip past it next time.
            self.query.after = horizon;
        }
        Ok(found)
    }

    /// Sleeps until a relevant notification or the poll interval, whichever comes first.
    async fn wait(&mut self) {
        let interval = self.store.settings().feed_poll_interval;
        if let Some(reads) = self.unseen_wakeup {
            if reads < WAKEUP_REREADS {
                self.unseen_wakeup = Some(reads + 1);
                tokio::time::sleep((WAKEUP_REREAD_DELAY * 2u32.pow(reads)).min(interval)).await;
                return;
            }
            self.unseen_wakeup = None;
        }
        let Some(listener) = self.listener.as_mut() else {
            tokio::time::sleep(interval).await;
            return;
        };
        let deadline = tokio::time::Instant::now() + interval;
        loop {
            match tokio::time::timeout_at(deadline, listener.recv()).await {
                Err(_elapsed) => return,
                Ok(Ok(n)) if self.query.wants(n.payload()) => {
                    self.unseen_wakeup = Some(0);
                    return;
                }
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => {
                    // PgListener reconnects by itself; a failure here means it could not.
                    tracing::warn!(error = %e, "feed tail: LISTEN connection failed; polling meanwhile");
                    self.listener = None;
                    // Try LISTEN again before the next read.
                    self.listening = false;
                    return;
                }
            }
        }
    }
}
