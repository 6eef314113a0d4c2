//! The projection runner: follows the feed for one consumer and applies each batch of events
//! and the consumer's checkpoint in one transaction, so a read model sees every event exactly
//! once, however many copies of the consumer run and however often the server restarts.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::postgres::PgConnection;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::feed::{Checkpoint, FeedEvent, FeedQuery, Tail};
use crate::retry::RetryPolicy;
use crate::store::EventStore;

/// Advisory lock class of a consumer's session lease (the runner that may work).
const LEASE_CLASS: i32 = 0x616e_7a01;
/// Advisory lock class that serialises one consumer's batch transactions.
const FENCE_CLASS: i32 = 0x616e_7a02;

/// A boxed error from a projection handler.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a projection does with one event, inside the runner's transaction.
///
/// Write the read model through `tx` only: the runner commits those writes together with the
/// consumer's checkpoint, or rolls both back. Return an error when the event cannot be applied;
/// the runner then follows its [`PoisonPolicy`]. A closure works too, through [`handler_fn`].
pub trait Handler: Send {
    /// Applies `event` to the read model through `tx`.
    fn handle<'a>(
        &'a mut self,
        event: &'a FeedEvent,
        tx: &'a mut PgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;
}

/// A [`Handler`] made from a closure returning a boxed future; see [`handler_fn`].
pub struct FnHandler<F>(F);

/// Turns a closure into a [`Handler`]:
/// `handler_fn(|event, tx| Box::pin(async move { ...; Ok(()) }))`.
pub fn handler_fn<F>(f: F) -> FnHandler<F>
where
    F: for<'a> FnMut(
            &'a FeedEvent,
            &'a mut PgConnection,
        ) -> BoxFuture<'a, Result<(), HandlerError>>
        + Send,
{
    FnHandler(f)
}

impl<F> Handler for FnHandler<F>
where
    F: for<'a> FnMut(
            &'a FeedEvent,
            &'a mut PgConnection,
        ) -> BoxFuture<'a, Result<(), HandlerError>>
        + Send,
{
    fn handle<'a>(
        &'a mut self,
        event: &'a FeedEvent,
        tx: &'a mut PgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        (self.0)(event, tx)
    }
}

/// Called with an event the handler could not apply and the last error, before the runner
/// moves past it ([`PoisonPolicy::Skip`]).
pub type SkipCallback = Arc<dyn Fn(&FeedEvent, &str) + Send + Sync>;

/// What the runner does with an event the handler keeps failing on, once
/// [`ProjectionRunner::with_handler_retry`] attempts are used up. Failures of the connection
/// or the server are not counted: those are waited out.
#[derive(Clone)]
#[non_exhaustive]
pub enum PoisonPolicy {
    /// Stop the runner with [`ProjectionError::Poisoned`]; the checkpoint stays before the
    /// event, so the next start tries it again.
    Stop,
    /// Record the event in the caller's table and move on, in the same transaction as the
    /// checkpoint. The table (schema-qualified or not) needs the columns
    /// `consumer text, feed_tx bigint, global_position bigint, domain text, edition text,
    /// root uuid, sequence bigint, event_type text, error text` (more, with defaults, are fine).
    Park {
        /// The table's name, e.g. `app.projection_parked`.
        table: String,
    },
    /// Call the callback and move on.
    Skip(SkipCallback),
}

impl std::fmt::Debug for PoisonPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoisonPolicy::Stop => f.write_str("Stop"),
            PoisonPolicy::Park { table } => f.debug_struct("Park").field("table", table).finish(),
            PoisonPolicy::Skip(_) => f.write_str("Skip(..)"),
        }
    }
}

/// Why a projection runner stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// The handler failed on this event every time, and the policy is [`PoisonPolicy::Stop`].
    #[error("projection {consumer}: event {domain}/{root}@{sequence} could not be applied: {error}",
            domain = event.event.domain, root = event.event.root, sequence = event.event.sequence)]
    Poisoned {
        /// The consumer's name.
        consumer: String,
        /// The event.
        event: Box<FeedEvent>,
        /// The handler's last error.
        error: HandlerError,
    },
    /// An error that waiting will not fix (a bad argument, a missing park table, ...).
    #[error("projection {consumer}: {error}")]
    Store {
        /// The consumer's name.
        consumer: String,
        /// The error.
        #[source]
        error: Error,
    },
}

/// Follows the feed for one consumer and applies its events with exactly-once effects.
///
/// Guarantees, for every copy of the same consumer (same name, same consumer-group member):
///
/// * **One writer.** Only the copy holding the consumer's lease (a session advisory lock on a
///   connection the runner keeps) reads and applies; the others wait as standbys and take over
///   when it goes away.
/// * **Exactly-once effects.** Each batch runs in one transaction: it locks the consumer
///   (a transaction advisory lock), checks that the stored checkpoint is still where this
///   runner left it, applies the events through the handler, and moves the checkpoint
///   ([`EventStore::save_feed_position`]). When the checkpoint is not where it should be or
///   did not move, the transaction is rolled back and the runner starts over from the stored
///   checkpoint. So even a runner that lost its lease without noticing cannot apply an
///   event twice.
/// * **Survives outages.** Pool timeouts, lost connections and server restarts are waited out
///   with backoff; they never end the runner.
/// * **Readiness.** [`caught_up`](Self::caught_up) turns `true` whenever the runner has applied
///   everything visible in the feed.
///
/// Build one with [`EventStore::projection`]; see the crate's front page for an example.
pub struct ProjectionRunner {
    store: EventStore,
    consumer: String,
    query: FeedQuery,
    batch_size: usize,
    handler_retry: RetryPolicy,
    backoff: RetryPolicy,
    poison: PoisonPolicy,
    standby_poll: Duration,
    lease_check: Duration,
    caught_up: watch::Sender<bool>,
}

impl EventStore {
    /// A projection runner for `consumer` reading `query` (its `after` is ignored: the runner
    /// starts from the consumer's saved checkpoint). In a consumer group
    /// (`query.member(m, n)`), each member is its own consumer, `"{consumer}/{m}-of-{n}"`, with
    /// its own checkpoint and lease. The runner reads the feed from
    /// [`EventStore::read_pool`] (a read replica, when the store has one); the lease, the
    /// handler's writes and the checkpoint go to [`EventStore::pool`].
    pub fn projection(&self, consumer: impl Into<String>, query: FeedQuery) -> ProjectionRunner {
        let mut consumer = consumer.into();
        if query.members > 1 {
            consumer = format!("{consumer}/{}-of-{}", query.member, query.members);
        }
        ProjectionRunner {
            store: self.clone(),
            consumer,
            query,
            batch_size: 100,
            handler_retry: RetryPolicy::default()
                .with_max_attempts(5)
                .with_delays(Duration::from_millis(100), Duration::from_secs(5)),
            backoff: RetryPolicy::default()
                .with_delays(Duration::from_millis(50), Duration::from_secs(5)),
            poison: PoisonPolicy::Stop,
            standby_poll: Duration::from_secs(1),
            lease_check: Duration::from_secs(5),
            caught_up: watch::Sender::new(false),
        }
    }
}

/// How applying one batch ended.
enum Applied {
    /// Committed; the consumer is at this checkpoint now.
    Committed(Checkpoint),
    /// The stored checkpoint was not where this runner left it: someone else applied events.
    Fenced,
    /// The handler failed on the batch's event at this index; nothing was committed.
    HandlerFailed(usize, HandlerError),
}

impl ProjectionRunner {
    /// The consumer name checkpoints and the lease are kept under.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Events applied per transaction (default 100; at least 1). Larger batches commit less
    /// often; a handler failure retries its batch's events before it one by one.
    pub fn with_batch_size(mut self, events: usize) -> Self {
        self.batch_size = events.max(1);
        self
    }

    /// How often, and with what backoff, an event the handler fails on is tried before the
    /// [`PoisonPolicy`] applies (default 5 attempts, 100 ms to 5 s).
    pub fn with_handler_retry(mut self, retry: RetryPolicy) -> Self {
        self.handler_retry = retry;
        self
    }

    /// What to do with an event the handler cannot apply (default [`PoisonPolicy::Stop`]).
    pub fn with_poison_policy(mut self, policy: PoisonPolicy) -> Self {
        self.poison = policy;
        self
    }

    /// How often a standby tries to take the lease (default 1 s).
    pub fn with_standby_poll(mut self, interval: Duration) -> Self {
        self.standby_poll = interval;
        self
    }

    /// How often the runner checks that its lease connection is alive (default 5 s).
    pub fn with_lease_check(mut self, interval: Duration) -> Self {
        self.lease_check = interval;
        self
    }

    /// `true` whenever the runner holds the lease and has applied every event visible in the
    /// feed; `false` while it is behind or a standby. For readiness probes:
    /// `caught_up.wait_for(|c| *c).await`.
    pub fn caught_up(&self) -> watch::Receiver<bool> {
        self.caught_up.subscribe()
    }

    /// Runs until `shutdown` completes (then returns `Ok`) or a [`ProjectionError`] stops it.
    /// An open batch is rolled back at shutdown.
    pub async fn run_until<H: Handler>(
        self,
        handler: H,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ProjectionError> {
        tokio::select! {
            r = self.run(handler) => r,
            () = shutdown => Ok(()),
        }
    }

    /// Runs until a [`ProjectionError`] stops it (or forever).
    pub async fn run<H: Handler>(&self, mut handler: H) -> Result<(), ProjectionError> {
        let mut failures = 0u32;
        loop {
            match self.lead(&mut handler).await {
                // Fenced or lease lost: take the lease again and start from what is stored.
                Ok(()) => failures = 0,
                Err(Stop::Transient(e)) => {
                    failures += 1;
                    let delay = self.backoff.delay(failures);
                    tracing::warn!(consumer = %self.consumer, error = %e, ?delay,
                                   "projection: transient error, starting over");
                    crate::telemetry::transient("projection");
                    tokio::time::sleep(delay).await;
                }
                Err(Stop::Fatal(e)) => return Err(e),
            }
            self.caught_up.send_replace(false);
        }
    }

    fn fatal(&self, error: Error) -> Stop {
        if error.is_transient() {
            Stop::Transient(error)
        } else {
            Stop::Fatal(ProjectionError::Store {
                consumer: self.consumer.clone(),
                error,
            })
        }
    }

    /// Takes the lease, then applies batches until fenced, the lease is lost or an error.
    async fn lead<H: Handler>(&self, handler: &mut H) -> Result<(), Stop> {
        let mut lease = self.take_lease().await.map_err(|e| self.fatal(e))?;
        let store = &self.store;
        let start = store
            .get_feed_position(store.pool(), &self.consumer)
            .await
            .map_err(|e| self.fatal(e))?
            .checkpoint;
        tracing::info!(consumer = %self.consumer, feed_tx = start.feed_tx,
                       global_position = start.global_position, "projection: leading");
        let mut tail = Tail::new(store.clone(), self.query.clone().after(start))
            .report_caught_up(self.caught_up.clone());
        let mut position = start;
        let mut pending: Vec<FeedEvent> = Vec::new();
        let mut limit = self.batch_size;
        // The event the handler last failed on, and how often it failed.
        let mut failing: Option<(Checkpoint, u32)> = None;
        let mut transient = 0u32;
        let mut lease_checked = Instant::now();
        loop {
            if pending.is_empty() {
                pending = tail
                    .next_batch(self.batch_size)
                    .await
                    .map_err(|e| self.fatal(e))?;
            }
            if lease_checked.elapsed() >= self.lease_check {
                if let Err(e) = sqlx::query(include_str!("sql/session_alive.sql"))
                    .execute(&mut lease)
                    .await
                {
                    tracing::warn!(consumer = %self.consumer, error = %e, "projection: lease lost");
                    return Ok(());
                }
                lease_checked = Instant::now();
            }
            let n = limit.min(pending.len());
            match self.apply(handler, &pending[..n], position).await {
                Ok(Applied::Committed(at)) => {
                    crate::telemetry::projected(&self.consumer, n, pending[n - 1].event.created_at);
                    position = at;
                    pending.drain(..n);
                    if failing.is_some_and(|(cp, _)| cp <= at) {
                        failing = None;
                    }
                    // Right after the events before a failing one: try that one alone.
                    limit = if failing.is_some() {
                        1
                    } else {
                        self.batch_size
                    };
                    transient = 0;
                }
                Ok(Applied::Fenced) => {
                    tracing::warn!(consumer = %self.consumer,
                                   "projection: checkpoint moved by someone else; starting over");
                    return Ok(());
                }
                Ok(Applied::HandlerFailed(i, error)) if handler_error_is_transient(&error) => {
                    transient += 1;
                    limit = i.max(1);
                    tokio::time::sleep(self.backoff.delay(transient)).await;
                }
                Ok(Applied::HandlerFailed(i, error)) => {
                    let at = pending[i].checkpoint;
                    let tries = match failing {
                        Some((cp, n)) if cp == at => n + 1,
                        _ => 1,
                    };
                    failing = Some((at, tries));
                    if i > 0 {
                        // Commit the events before the failing one first, then try it alone.
                        limit = i;
                        continue;
                    }
                    limit = 1;
                    if tries < self.handler_retry.max_attempts {
                        let delay = self.handler_retry.delay(tries);
                        tracing::warn!(consumer = %self.consumer, attempts = tries, ?delay,
                                       error = %error, "projection: handler failed; retrying the event");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    let event = pending[0].clone();
                    match self.poisoned(event, error, position).await? {
                        Some(at) => position = at,
                        None => return Ok(()),
                    }
                    pending.remove(0);
                    failing = None;
                    limit = self.batch_size;
                }
                Err(e) if e.is_transient() => {
                    transient += 1;
                    let delay = self.backoff.delay(transient);
                    tracing::warn!(consumer = %self.consumer, error = %e, ?delay,
                                   "projection: transient error; retrying the batch");
                    crate::telemetry::transient("projection");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(self.fatal(e)),
            }
        }
    }

    /// Waits until this runner holds the consumer's lease; the connection holding it is kept
    /// out of the pool's rotation for as long as the runner leads.
    ///
    /// A session advisory lock rather than a lease row: PostgreSQL releases it the moment the
    /// holder's session ends (a crash, a restart, a lost network), so a standby takes over
    /// without waiting out a lease timeout, and nothing has to be written or cleaned up. It
    /// only decides who does the work; correctness does not depend on it (see
    /// [`ProjectionRunner::apply`]'s fence), because a lease can be lost without its holder
    /// noticing at once.
    async fn take_lease(&self) -> Result<PgConnection> {
        let mut standby = false;
        loop {
            let mut conn = self.store.acquire_from(self.store.pool()).await?;
            let got: bool = sqlx::query_scalar(include_str!("sql/projection_lease.sql"))
                .bind(LEASE_CLASS)
                .bind(&self.consumer)
                .fetch_one(&mut *conn)
                .await?;
            if got {
                // The lease ends with the session: never hand this connection back to the
                // pool (detached, it is closed when the runner stops leading).
                return Ok(conn.detach());
            }
            if !standby {
                standby = true;
                tracing::info!(consumer = %self.consumer, "projection: standby, another runner leads");
            }
            drop(conn);
            tokio::time::sleep(self.standby_poll).await;
        }
    }

    /// Locks the consumer for this transaction and checks that its stored checkpoint is
    /// `position`. Two runners that both think they lead (one lost its lease unnoticed) queue
    /// on the lock; the second then sees the first's checkpoint and backs off, so no event's
    /// effects commit twice.
    async fn fence(&self, tx: &mut PgConnection, position: Checkpoint) -> Result<bool> {
        sqlx::query(include_str!("sql/projection_fence.sql"))
            .bind(FENCE_CLASS)
            .bind(&self.consumer)
            .execute(&mut *tx)
            .await?;
        let stored = self
            .store
            .get_feed_position(&mut *tx, &self.consumer)
            .await?;
        Ok(stored.checkpoint == position)
    }

    /// Applies `batch` and moves the checkpoint past it in one transaction.
    async fn apply<H: Handler>(
        &self,
        handler: &mut H,
        batch: &[FeedEvent],
        position: Checkpoint,
    ) -> Result<Applied> {
        let Some(last) = batch.last() else {
            return Ok(Applied::Committed(position));
        };
        let mut conn = self.store.acquire_from(self.store.pool()).await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        if !self.fence(&mut tx, position).await? {
            return Ok(Applied::Fenced);
        }
        for (i, event) in batch.iter().enumerate() {
            if let Err(e) = handler.handle(event, &mut tx).await {
                tx.rollback().await.ok();
                return Ok(Applied::HandlerFailed(i, e));
            }
        }
        if !self
            .store
            .save_feed_position(&mut *tx, &self.consumer, last.checkpoint)
            .await?
            .moved()
        {
            return Ok(Applied::Fenced);
        }
        tx.commit().await?;
        Ok(Applied::Committed(last.checkpoint))
    }

    /// Applies the poison policy to `event`; returns the new position when the runner moves on,
    /// `None` when it was fenced.
    async fn poisoned(
        &self,
        event: FeedEvent,
        error: HandlerError,
        position: Checkpoint,
    ) -> Result<Option<Checkpoint>, Stop> {
        let message = error.to_string();
        match &self.poison {
            PoisonPolicy::Stop => {
                return Err(Stop::Fatal(ProjectionError::Poisoned {
                    consumer: self.consumer.clone(),
                    event: Box::new(event),
                    error,
                }))
            }
            PoisonPolicy::Skip(callback) => callback(&event, &message),
            PoisonPolicy::Park { .. } => {}
        }
        tracing::warn!(consumer = %self.consumer, domain = %event.event.domain,
                       root = %event.event.root, sequence = event.event.sequence,
                       error = %message, policy = ?self.poison, "projection: moving past a poisoned event");
        let mut failures = 0;
        loop {
            match self.move_past(&event, &message, position).await {
                Ok(true) => {
                    crate::telemetry::poisoned(&self.consumer);
                    return Ok(Some(event.checkpoint));
                }
                // Someone else moved the checkpoint: start over from it.
                Ok(false) => return Ok(None),
                Err(e) if e.is_transient() => {
                    failures += 1;
                    tokio::time::sleep(self.backoff.delay(failures)).await;
                }
                Err(e) => return Err(self.fatal(e)),
            }
        }
    }

    /// Moves the checkpoint past `event` (parking it first when the policy says so).
    async fn move_past(
        &self,
        event: &FeedEvent,
        error: &str,
        position: Checkpoint,
    ) -> Result<bool> {
        let mut conn = self.store.acquire_from(self.store.pool()).await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        if !self.fence(&mut tx, position).await? {
            return Ok(false);
        }
        if let PoisonPolicy::Park { table } = &self.poison {
            let sql =
                include_str!("sql/projection_park.sql").replace("{table}", &quote_table(table)?);
            let e = &event.event;
            sqlx::query(&sql)
                .bind(&self.consumer)
                .bind(event.checkpoint.feed_tx)
                .bind(event.checkpoint.global_position)
                .bind(&e.domain)
                .bind(&e.edition)
                .bind(e.root)
                .bind(e.sequence)
                .bind(&e.event_type)
                .bind(error)
                .execute(&mut *tx)
                .await?;
        }
        if !self
            .store
            .save_feed_position(&mut *tx, &self.consumer, event.checkpoint)
            .await?
            .moved()
        {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Why [`ProjectionRunner::lead`] returned early.
enum Stop {
    /// Wait and lead again.
    Transient(Error),
    /// End the runner.
    Fatal(ProjectionError),
}

/// A handler's error that is really the connection or the server failing (the handler used
/// `?` on a sqlx or client error): waited out, never counted as poison.
fn handler_error_is_transient(error: &HandlerError) -> bool {
    if let Some(e) = error.downcast_ref::<Error>() {
        return e.is_transient();
    }
    if let Some(e) = error.downcast_ref::<sqlx::Error>() {
        return crate::error::sqlx_is_transient(e);
    }
    false
}

/// `schema.table` or `table`, each part quoted as an identifier.
fn quote_table(name: &str) -> Result<String> {
    let parts: Vec<&str> = name.split('.').collect();
    if name.is_empty() || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(Error::invalid(format!(
            "park table {name:?} must be `table` or `schema.table`"
        )));
    }
    Ok(parts
        .iter()
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn park_tables_are_quoted_identifiers() {
        assert_eq!(quote_table("parked").unwrap(), "\"parked\"");
        assert_eq!(quote_table("app.Parked").unwrap(), "\"app\".\"Parked\"");
        assert_eq!(quote_table("x\"; drop").unwrap(), "\"x\"\"; drop\"");
        assert!(quote_table("").is_err());
        assert!(quote_table("a.b.c").is_err());
        assert!(quote_table("a.").is_err());
    }

    #[test]
    fn database_failures_inside_a_handler_are_not_poison() {
        let io: HandlerError = Box::new(sqlx::Error::Io(std::io::Error::other("reset")));
        assert!(handler_error_is_transient(&io));
        let wrapped: HandlerError = Box::new(Error::Database(sqlx::Error::PoolTimedOut));
        assert!(handler_error_is_transient(&wrapped));
        let own: HandlerError = "bad payload".into();
        assert!(!handler_error_is_transient(&own));
    }
}
