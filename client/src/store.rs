//! [`EventStore`]: the handle every operation hangs off, how to make one, and the check that the
//! database has a compatible extension.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnection, PgPool};
use tokio::sync::OnceCell;

use crate::builder::EventStoreBuilder;
use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::hosts::Hosts;
use crate::retry::RetryPolicy;

/// Extension versions this client works with, as printed in errors.
/// 0.2.0 changed argument orders and names (see the extension's upgrade notes), so this client
/// calls functions by argument name and needs 0.2; 0.3 kept every signature of 0.2.
pub const SUPPORTED_EXTENSION_VERSIONS: &str = ">= 0.2.0, < 0.4.0";
const MIN_VERSION: (u64, u64, u64) = (0, 2, 0);
const MAX_VERSION_EXCLUSIVE: (u64, u64, u64) = (0, 4, 0);

/// A handle on an angzarr_store database: cheap to clone, safe to share between tasks.
///
/// Operations take where to run as their first argument (`db`, a [`Db`]), so the same method
/// works on its own or inside the caller's transaction:
///
/// * `store.pool()` (or any `&PgPool`): the call takes a connection from the pool and commits
///   on its own;
/// * `&mut *tx` for a `sqlx::Transaction` (or any `&mut PgConnection`): the call joins that
///   transaction; nothing is visible to others until the caller commits, and a rollback undoes
///   it.
///
/// The first operation checks that the extension is installed at a version this client
/// supports ([`SUPPORTED_EXTENSION_VERSIONS`]) and fails with [`Error::NotInstalled`] or
/// [`Error::IncompatibleVersion`] otherwise; the answer is remembered once it is good.
///
/// ```no_run
/// use angzarr_store_client::{AggregateId, Append, EventStore, Expected, NewEvent};
/// use uuid::Uuid;
///
/// # async fn demo(pool: sqlx::PgPool) -> angzarr_store_client::Result<()> {
/// let store = EventStore::new(pool);
/// let account = Uuid::new_v4();
///
/// // On its own:
/// store
///     .append(store.pool(), &Append::new(AggregateId::new("account", account), Expected::New)
///         .event(NewEvent::new("Opened", b"{}".to_vec())))
///     .await?;
///
/// // Inside the caller's transaction, together with the caller's own writes:
/// let mut tx = store.pool().begin().await?;
/// store
///     .append(&mut *tx, &Append::new(AggregateId::new("account", account), Expected::Next(1))
///         .event(NewEvent::new("Deposited", b"{\"amount\": 10}".to_vec())))
///     .await?;
/// sqlx::query("UPDATE my_outbox SET sent = true").execute(&mut *tx).await?;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct EventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    settings: Settings,
    checked: OnceCell<String>,
    /// The candidate hosts of a store made from a host list (see `hosts.rs`).
    hosts: Option<Arc<Hosts>>,
    /// A pool on a read replica, for reads that may lag the primary.
    read_pool: Option<PgPool>,
}

/// Client-side knobs that do not belong to the pool; set through [`EventStoreBuilder`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Events fetched per round trip when streaming an aggregate or the feed.
    pub page_size: i64,
    /// How long a feed tail sleeps between polls when no notification arrives.
    pub feed_poll_interval: Duration,
    /// How appends with an idempotency key are retried after a lost connection.
    pub reconnect: Option<RetryPolicy>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            page_size: 1000,
            feed_poll_interval: Duration::from_secs(1),
            reconnect: None,
        }
    }
}

impl EventStore {
    /// Wraps an existing pool ("bring your own pool"): the main way to make a store.
    ///
    /// No I/O happens here; the extension check runs on first use. Connections the pool opens
    /// from now on set `angzarr.notify = on` (added to the pool's connect options), so appends
    /// through this pool wake feed tails and projection runners at once instead of at their
    /// next poll, as with [`EventStore::builder`]. Connections the pool already holds keep
    /// their settings until they are replaced; to cover them too, make the store before the
    /// pool opens connections (e.g. `PgPoolOptions::connect_lazy_with`), or set it for the
    /// database (`ALTER DATABASE ... SET angzarr.notify = on`).
    ///
    /// ```no_run
    /// # async fn demo() -> angzarr_store_client::Result<()> {
    /// let pool = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:55432/angzarr").await?;
    /// let store = angzarr_store_client::EventStore::new(pool);
    /// # Ok(()) }
    /// ```
    pub fn new(pool: PgPool) -> Self {
        let options = pool
            .connect_options()
            .as_ref()
            .clone()
            .options([("angzarr.notify", "on")]);
        pool.set_connect_options(options);
        Self::with_settings(pool, Settings::default())
    }

    pub(crate) fn with_settings(pool: PgPool, settings: Settings) -> Self {
        Self::with_parts(pool, settings, None, None)
    }

    pub(crate) fn with_parts(
        pool: PgPool,
        settings: Settings,
        hosts: Option<Arc<Hosts>>,
        read_pool: Option<PgPool>,
    ) -> Self {
        EventStore {
            inner: Arc::new(Inner {
                pool,
                settings,
                checked: OnceCell::new(),
                hosts,
                read_pool,
            }),
        }
    }

    /// The same store, with `pool` (on a hot standby, usually) as its [`read_pool`](Self::read_pool).
    pub fn with_read_pool(&self, pool: PgPool) -> Self {
        Self::with_parts(
            self.inner.pool.clone(),
            self.inner.settings.clone(),
            self.inner.hosts.clone(),
            Some(pool),
        )
    }

    /// Where reads that may lag the primary go: the read replica's pool when the store has one
    /// ([`EventStoreBuilder::with_read_url`], [`EventStore::with_read_pool`]), else
    /// [`pool`](Self::pool). Feed tails and projection runners read the feed from it; pass it as
    /// `db` to any read. A read that must see the caller's own write passes `store.pool()`.
    pub fn read_pool(&self) -> &PgPool {
        self.inner.read_pool.as_ref().unwrap_or(&self.inner.pool)
    }

    pub(crate) fn hosts(&self) -> Option<&Hosts> {
        self.inner.hosts.as_deref()
    }

    /// Connects with the builder's defaults (see [`EventStoreBuilder`]).
    ///
    /// ```no_run
    /// # async fn demo() -> angzarr_store_client::Result<()> {
    /// let store =
    ///     angzarr_store_client::EventStore::connect("postgres://postgres@127.0.0.1:55432/angzarr")
    ///         .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self> {
        EventStoreBuilder::new().connect(url).await
    }

    /// A builder for the pool options and client settings.
    pub fn builder() -> EventStoreBuilder {
        EventStoreBuilder::new()
    }

    /// The pool operations use when given `store.pool()`; also where feed tails take their
    /// connections from.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Installs the extension if it is missing (`CREATE EXTENSION IF NOT EXISTS angzarr_store`)
    /// and checks its version. Safe when many processes start at once: installers queue on an
    /// advisory lock, and a concurrent install by anyone else (a unique violation) counts as
    /// success. Needs a role allowed to create the extension (a superuser).
    ///
    /// ```no_run
    /// # async fn demo(store: angzarr_store_client::EventStore) -> angzarr_store_client::Result<()> {
    /// let version = store.install().await?;
    /// println!("angzarr_store {version}");
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "angzarr.install", skip_all, err)]
    pub async fn install(&self) -> Result<String> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(include_str!("sql/install_lock.sql"))
            .execute(&mut *tx)
            .await?;
        match sqlx::query(include_str!("sql/install.sql"))
            .execute(&mut *tx)
            .await
        {
            Ok(_) => tx.commit().await?,
            // Someone without our lock created it (or its schema) at the same moment.
            Err(e) if is_install_race(&e) => {
                tracing::debug!(error = %e, "concurrent CREATE EXTENSION; using theirs");
                tx.rollback().await?;
            }
            Err(e) => return Err(e.into()),
        }
        let mut conn = self.pool().acquire().await?;
        let version = check_version(&mut conn).await?;
        // A version that passed the check stays good for the life of the store.
        let _ = self.inner.checked.set(version.clone());
        Ok(version)
    }

    /// Checks the installed extension now, on `db`, and returns its version. Unlike the check
    /// on first use this asks the server every time, so it notices an extension dropped or
    /// changed since.
    pub async fn check_extension<'c>(&self, db: impl Into<Db<'c>>) -> Result<String> {
        let mut conn = db.into().acquire().await?;
        let version = check_version(&mut conn).await?;
        let _ = self.inner.checked.set(version.clone());
        Ok(version)
    }

    /// A health check for liveness and readiness probes: one round trip on a pooled
    /// connection that proves the server answers and that a supported extension is installed,
    /// every time it is called (nothing is cached). Fails with the connection's error (e.g. a
    /// pool timeout when the server is unreachable), [`Error::NotInstalled`] or
    /// [`Error::IncompatibleVersion`].
    ///
    /// ```no_run
    /// # async fn demo(store: angzarr_store_client::EventStore) {
    /// match store.ping().await {
    ///     Ok(health) => println!("ok: extension {} in {:?}", health.extension_version, health.round_trip),
    ///     Err(e) => println!("not ready: {e}"),
    /// }
    /// # }
    /// ```
    #[tracing::instrument(name = "angzarr.ping", level = "debug", skip_all, err)]
    pub async fn ping(&self) -> Result<Health> {
        let started = std::time::Instant::now();
        let mut conn = self.pool().acquire().await?;
        let extension_version = check_version(&mut conn).await?;
        Ok(Health {
            extension_version,
            round_trip: started.elapsed(),
        })
    }

    /// Takes a connection from `db` and makes sure the extension check has passed.
    pub(crate) async fn conn<'c>(&self, db: impl Into<Db<'c>>) -> Result<Conn<'c>> {
        let mut conn = match db.into() {
            Db::Pool(pool) => Conn::Pooled(self.acquire_from(pool).await?),
            Db::Connection(conn) => Conn::Borrowed(conn),
        };
        self.ready(&mut conn).await?;
        Ok(conn)
    }

    /// Runs the extension check once per store, on the caller's connection.
    pub(crate) async fn ready(&self, conn: &mut PgConnection) -> Result<String> {
        self.inner
            .checked
            .get_or_try_init(|| check_version(conn))
            .await
            .cloned()
    }
}

/// What [`EventStore::ping`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Health {
    /// The installed extension's version.
    pub extension_version: String,
    /// How long taking a connection and the round trip took.
    pub round_trip: Duration,
}

fn is_install_race(err: &sqlx::Error) -> bool {
    let code = err.as_database_error().and_then(|d| d.code());
    // unique_violation (pg_extension_name_index), duplicate_object, duplicate_schema
    matches!(code.as_deref(), Some("23505" | "42710" | "42P06"))
}

/// Reads `pg_extension.extversion` and compares it with the supported range.
async fn check_version(conn: &mut PgConnection) -> Result<String> {
    let installed: Option<String> = sqlx::query_scalar(include_str!("sql/extension_version.sql"))
        .fetch_optional(conn)
        .await?;
    let installed = installed.ok_or(Error::NotInstalled)?;
    if !version_supported(&installed) {
        return Err(Error::IncompatibleVersion {
            installed,
            supported: SUPPORTED_EXTENSION_VERSIONS,
        });
    }
    tracing::debug!(version = %installed, "angzarr_store extension found");
    Ok(installed)
}

/// True when `version` ("major.minor.patch", anything after a `-` ignored) is in range.
fn version_supported(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let mut parts = core.split('.').map(|p| p.parse::<u64>());
    let mut next = || parts.next().unwrap_or(Ok(0));
    match (next(), next(), next()) {
        (Ok(major), Ok(minor), Ok(patch)) => {
            let v = (major, minor, patch);
            v >= MIN_VERSION && v < MAX_VERSION_EXCLUSIVE
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::version_supported;

    #[test]
    fn version_range() {
        assert!(version_supported("0.2.0"));
        assert!(version_supported("0.2.7"));
        assert!(version_supported("0.2"));
        assert!(version_supported("0.2.0-dev"));
        assert!(!version_supported("0.1.9"));
        assert!(version_supported("0.3.0"));
        assert!(!version_supported("0.4.0"));
        assert!(!version_supported("1.0.0"));
        assert!(!version_supported("banana"));
    }
}
