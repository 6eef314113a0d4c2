//! [`EventStoreBuilder`]: pool options and client settings with documented defaults.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::Result;
use crate::hosts::{check_target, split_hosts, Hosts, TargetSession};
use crate::retry::RetryPolicy;
use crate::store::{EventStore, Settings};

/// Builds an [`EventStore`] with its own pool.
///
/// | option | default |
/// | --- | --- |
/// | [`with_max_connections`](Self::with_max_connections) | 10 |
/// | [`with_min_connections`](Self::with_min_connections) | 0 |
/// | [`with_acquire_timeout`](Self::with_acquire_timeout) | 30 s |
/// | [`with_idle_timeout`](Self::with_idle_timeout) | 10 min |
/// | [`with_max_lifetime`](Self::with_max_lifetime) | 30 min |
/// | [`with_statement_timeout`](Self::with_statement_timeout) | none (the server's setting) |
/// | [`with_notify`](Self::with_notify) | on: appends wake feed tails through NOTIFY |
/// | [`with_connection_check`](Self::with_connection_check) | off: no ping before each use |
/// | [`with_page_size`](Self::with_page_size) | 1000 events per round trip when streaming |
/// | [`with_feed_poll_interval`](Self::with_feed_poll_interval) | 1 s |
/// | [`with_reconnect`](Self::with_reconnect) | none: a lost connection fails the call |
/// | [`with_host_probe_after`](Self::with_host_probe_after) | 500 ms (host lists only) |
/// | [`with_read_url`](Self::with_read_url) | none: reads use the primary's pool |
///
/// [`connect`](Self::connect) also takes a host list as libpq writes it,
/// `postgres://user@host1:5432,host2:5432/db?target_session_attrs=read-write`: the store uses
/// the first host that fits and moves to another by itself when that one fails or becomes a
/// standby (see the book's failover page).
///
/// ```no_run
/// use std::time::Duration;
/// use angzarr_store_client::EventStore;
///
/// # async fn demo() -> angzarr_store_client::Result<()> {
/// let store = EventStore::builder()
///     .with_max_connections(20)
///     .with_statement_timeout(Some(Duration::from_secs(30)))
///     .connect("postgres://postgres@127.0.0.1:55432/angzarr")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EventStoreBuilder {
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
    statement_timeout: Option<Duration>,
    notify: bool,
    connection_check: bool,
    settings: Settings,
    probe_after: Duration,
    read_url: Option<String>,
}

impl Default for EventStoreBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventStoreBuilder {
    /// A builder with the defaults in the table above.
    pub fn new() -> Self {
        EventStoreBuilder {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            statement_timeout: None,
            notify: true,
            connection_check: false,
            settings: Settings::default(),
            probe_after: Duration::from_millis(500),
            read_url: None,
        }
    }

    /// Most connections the pool opens. A feed tail holds one extra connection for LISTEN.
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Connections the pool keeps open even when idle.
    pub fn with_min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// How long an operation waits for a free connection before failing.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Idle connections above the minimum are closed after this long; `None` keeps them.
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Connections are replaced after this long; `None` keeps them forever.
    pub fn with_max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// The server cancels any statement running longer than this (`statement_timeout`);
    /// `None` leaves the server's setting.
    pub fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Whether this pool's sessions set `angzarr.notify = on`, so each committed append sends a
    /// NOTIFY on channel `angzarr_events` and feed tails wake at once instead of at their next
    /// poll.
    pub fn with_notify(mut self, on: bool) -> Self {
        self.notify = on;
        self
    }

    /// Events fetched per round trip when streaming an aggregate or the feed (at least 1).
    pub fn with_page_size(mut self, events: u32) -> Self {
        self.settings.page_size = i64::from(events.max(1));
        self
    }

    /// Whether the pool pings a connection before handing it out (sqlx's default is on; always
    /// on for a host list, which expects failovers). Off,
    /// a single-event append costs one round trip instead of two; a connection that died
    /// while idle then fails its next call with a connection error (transient for
    /// [`RetryPolicy`](crate::RetryPolicy), and safe to retry for appends with an expected
    /// sequence or an idempotency key) and the pool replaces it. Turn it on when idle
    /// connections often die (a proxy that drops them, frequent server restarts).
    pub fn with_connection_check(mut self, on: bool) -> Self {
        self.connection_check = on;
        self
    }

    /// How often a feed tail polls when no notification wakes it.
    pub fn with_feed_poll_interval(mut self, interval: Duration) -> Self {
        self.settings.feed_poll_interval = interval;
        self
    }

    /// Retries appends that carry an idempotency key when they fail with a transient error (a lost connection, a server restarting or failing over), with this
    /// policy. An append whose connection was lost may have committed: repeating it under the
    /// same key returns the first append's sequences, so nothing is written twice. Appends
    /// without a key are not retried (their outcome is unknown); they fail with the error.
    /// (Feed tails and projection runners retry transient errors by themselves.)
    pub fn with_reconnect(mut self, policy: RetryPolicy) -> Self {
        self.settings.reconnect = Some(policy);
        self
    }

    /// With a host list: how long taking a connection may stall before the store probes the
    /// hosts for the one to use.
    pub fn with_host_probe_after(mut self, wait: Duration) -> Self {
        self.probe_after = wait;
        self
    }

    /// A second pool, on a read replica (a hot standby), for [`EventStore::read_pool`]: feed
    /// tails and projection runners read the feed from it, and callers pass it to reads that
    /// may lag the primary. Same pool options as the main pool.
    pub fn with_read_url(mut self, url: impl Into<String>) -> Self {
        self.read_url = Some(url.into());
        self
    }

    /// Opens the pool on `url` (`postgres://user@host:port/db?...`, or a host list
    /// `postgres://user@h1:p1,h2:p2/db?target_session_attrs=read-write`) and makes one
    /// connection, so a wrong URL or an unreachable server fails here.
    pub async fn connect(self, url: &str) -> Result<EventStore> {
        let list = split_hosts(url)?;
        if list.urls.len() == 1 && list.target.is_none() {
            let options = PgConnectOptions::from_str(url)?;
            return self.connect_with(options).await;
        }
        let candidates = list
            .urls
            .iter()
            .map(|u| Ok(self.session_options(PgConnectOptions::from_str(u)?)))
            .collect::<Result<Vec<_>>>()?;
        let target = list.target.unwrap_or(TargetSession::Any);
        let hosts = Arc::new(Hosts::new(candidates, target, self.probe_after));
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let options = hosts.first(deadline).await?;
        // A host list expects failovers: the pool checks each connection before handing it
        // out, so connections to a primary that went away are replaced before use.
        let pool = self
            .pool_options()
            .test_before_acquire(true)
            .after_connect(move |conn, _meta| Box::pin(check_target(conn, target)))
            .connect_with(options)
            .await?;
        let read_pool = self.read_pool().await?;
        Ok(EventStore::with_parts(
            pool,
            self.settings,
            Some(hosts),
            read_pool,
        ))
    }

    /// Opens the pool with explicit connect options.
    pub async fn connect_with(self, options: PgConnectOptions) -> Result<EventStore> {
        let options = self.session_options(options);
        let pool = self.pool_options().connect_with(options).await?;
        let read_pool = self.read_pool().await?;
        Ok(EventStore::with_parts(pool, self.settings, None, read_pool))
    }

    /// The read replica's pool, when one was asked for.
    async fn read_pool(&self) -> Result<Option<PgPool>> {
        let Some(url) = &self.read_url else {
            return Ok(None);
        };
        let options = self.session_options(PgConnectOptions::from_str(url)?);
        Ok(Some(self.pool_options().connect_with(options).await?))
    }

    fn session_options(&self, options: PgConnectOptions) -> PgConnectOptions {
        let mut session = Vec::new();
        if self.notify {
            session.push(("angzarr.notify", "on".to_string()));
        }
        if let Some(timeout) = self.statement_timeout {
            session.push(("statement_timeout", format!("{}ms", timeout.as_millis())));
        }
        options.options(session)
    }

    fn pool_options(&self) -> PgPoolOptions {
        PgPoolOptions::new()
            .test_before_acquire(self.connection_check)
            .max_connections(self.max_connections)
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(self.idle_timeout)
            .max_lifetime(self.max_lifetime)
    }
}
