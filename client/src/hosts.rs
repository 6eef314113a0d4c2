//! Several servers behind one store: finding the primary among a list of hosts, following it
//! through a failover, retrying appends whose outcome a lost connection left unknown, and a
//! separate pool for reads from a replica.
//!
//! sqlx connects to one host per URL. A URL with a host list, as libpq writes it
//! (`postgres://user@h1:5432,h2:5432/db?target_session_attrs=read-write`), becomes one
//! candidate per host. The pool always points at one of them; whenever taking a connection
//! stalls (the host is down, or is a standby now), the store probes the candidates and points
//! the pool at the first one that fits the target. sqlx's own connect loop re-reads the pool's
//! connect options on every attempt, so a waiting operation picks up the new host by itself.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use sqlx::{ConnectOptions, Postgres};

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::store::EventStore;

/// Which kind of server a store's pool may use (libpq's `target_session_attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSession {
    /// Any server that answers.
    Any,
    /// Only a server that accepts writes (`pg_is_in_recovery()` is false): the primary.
    /// `read-write` and `primary` in a URL.
    ReadWrite,
    /// Only a hot standby (`pg_is_in_recovery()` is true). `read-only` and `standby` in a URL.
    Standby,
}

impl FromStr for TargetSession {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "any" => Ok(TargetSession::Any),
            "read-write" | "primary" => Ok(TargetSession::ReadWrite),
            "read-only" | "standby" => Ok(TargetSession::Standby),
            other => Err(Error::InvalidArgument {
                message: format!("target_session_attrs={other} is not supported"),
                hint: Some("Use any, read-write (or primary), or read-only (or standby).".into()),
            }),
        }
    }
}

impl TargetSession {
    /// Whether a server in this recovery state fits.
    fn fits(self, in_recovery: bool) -> bool {
        match self {
            TargetSession::Any => true,
            TargetSession::ReadWrite => !in_recovery,
            TargetSession::Standby => in_recovery,
        }
    }
}

/// A URL split into one URL per host, and the `target_session_attrs` it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostList {
    pub urls: Vec<String>,
    pub target: Option<TargetSession>,
}

/// Splits `postgres://user:pw@h1:p1,h2:p2/db?x=y&target_session_attrs=read-write` into
/// `postgres://user:pw@h1:p1/db?x=y` and `postgres://user:pw@h2:p2/db?x=y`, read-write.
pub(crate) fn split_hosts(url: &str) -> Result<HostList> {
    let invalid = |why: &str| Error::InvalidArgument {
        message: format!("connection URL {why}"),
        hint: Some("Write postgres://user@host1:port1,host2:port2/database".into()),
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("has no scheme"))?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let mut target = None;
    let mut kept = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("target_session_attrs", value)) => target = Some(value.parse()?),
            _ if pair.is_empty() => {}
            _ => kept.push(pair),
        }
    }
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    let list: Vec<&str> = hosts.split(',').collect();
    let urls: Vec<String> = list
        .iter()
        .map(|host| {
            // One empty host is a socket URL (`postgres:///db?host=/run/postgresql`).
            if host.is_empty() && list.len() > 1 {
                Err(invalid("has an empty host in its host list"))
            } else {
                Ok(format!("{scheme}://{userinfo}{host}{path}{query}"))
            }
        })
        .collect::<Result<_>>()?;
    Ok(HostList { urls, target })
}

/// The candidates of a multi-host store and which one the pool uses.
#[derive(Debug)]
pub(crate) struct Hosts {
    candidates: Vec<PgConnectOptions>,
    target: TargetSession,
    current: AtomicUsize,
    /// One probe at a time; the others wait for its answer.
    locating: tokio::sync::Mutex<()>,
    /// How long taking a connection may stall before the candidates are probed.
    probe_after: Duration,
}

/// How long one probe of one candidate may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl Hosts {
    pub(crate) fn new(
        candidates: Vec<PgConnectOptions>,
        target: TargetSession,
        probe_after: Duration,
    ) -> Self {
        Hosts {
            candidates,
            target,
            current: AtomicUsize::new(0),
            locating: tokio::sync::Mutex::new(()),
            probe_after,
        }
    }

    /// `host:port` of the candidate the pool uses now.
    pub(crate) fn current(&self) -> String {
        label(&self.candidates[self.current.load(Ordering::Acquire)])
    }

    /// Probes the candidates, the current one first, and returns the first that fits.
    async fn probe(&self) -> Result<usize> {
        let start = self.current.load(Ordering::Acquire);
        let mut last_error = None;
        for i in (0..self.candidates.len()).map(|k| (start + k) % self.candidates.len()) {
            match tokio::time::timeout(PROBE_TIMEOUT, probe_one(&self.candidates[i])).await {
                Ok(Ok(in_recovery)) if self.target.fits(in_recovery) => return Ok(i),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => last_error = Some(e),
                Err(_) => last_error = Some(Error::Database(sqlx::Error::PoolTimedOut)),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::InvalidArgument {
            message: format!("no host fits target_session_attrs {:?}", self.target),
            hint: Some(
                "Check that a primary is running and listed; after a failover, promote a standby."
                    .into(),
            ),
        }))
    }

    /// Finds a candidate that fits and points `pool` at it. Returns true when that is another
    /// host than before.
    pub(crate) async fn locate(&self, pool: &PgPool) -> bool {
        let before = self.current.load(Ordering::Acquire);
        let _one_at_a_time = self.locating.lock().await;
        if self.current.load(Ordering::Acquire) != before {
            // Another caller switched while this one waited for the lock.
            return true;
        }
        match self.probe().await {
            Ok(i) if i != before => {
                self.current.store(i, Ordering::Release);
                pool.set_connect_options(self.candidates[i].clone());
                tracing::warn!(from = %label(&self.candidates[before]),
                               to = %label(&self.candidates[i]),
                               "angzarr store: switched to another host");
                true
            }
            Ok(_) => false,
            Err(e) => {
                tracing::debug!(error = %e, "angzarr store: no host fits yet");
                false
            }
        }
    }

    /// The first candidate that fits, probing until `deadline`; for opening the pool.
    pub(crate) async fn first(&self, deadline: tokio::time::Instant) -> Result<PgConnectOptions> {
        let mut attempt = 0;
        loop {
            match self.probe().await {
                Ok(i) => {
                    self.current.store(i, Ordering::Release);
                    return Ok(self.candidates[i].clone());
                }
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => {
                    attempt += 1;
                    let delay = backoff().cap(attempt);
                    tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + delay))
                        .await;
                }
            }
        }
    }
}

fn label(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

fn backoff() -> RetryPolicy {
    RetryPolicy::default().with_delays(Duration::from_millis(50), Duration::from_secs(1))
}

/// Whether the server behind `options` is in recovery (a standby).
async fn probe_one(options: &PgConnectOptions) -> Result<bool> {
    let mut conn = options.connect().await?;
    let in_recovery = in_recovery(&mut conn).await;
    let _ = sqlx::Connection::close(conn).await;
    Ok(in_recovery?)
}

/// `pg_is_in_recovery()` on this connection.
pub(crate) async fn in_recovery(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar(include_str!("sql/in_recovery.sql"))
        .fetch_one(conn)
        .await
}

/// The pool's `after_connect` check for a target: a connection to a server of the wrong kind
/// (a primary that was demoted and came back as a standby) is refused, and sqlx's connect loop
/// tries again with whatever host the pool points at by then.
pub(crate) async fn check_target(
    conn: &mut PgConnection,
    target: TargetSession,
) -> sqlx::Result<()> {
    if target == TargetSession::Any || target.fits(in_recovery(conn).await?) {
        return Ok(());
    }
    Err(sqlx::Error::Configuration(
        format!("the server does not fit target_session_attrs {target:?}; looking for another")
            .into(),
    ))
}

impl EventStore {
    /// A connection from `pool`. On a multi-host store, a wait longer than the probe interval
    /// probes the hosts and points the store's pool at the one that fits, while the wait goes
    /// on; the wait ends with the pool's acquire timeout.
    pub(crate) async fn acquire_from(&self, pool: &PgPool) -> Result<PoolConnection<Postgres>> {
        let Some(hosts) = self.hosts() else {
            return Ok(pool.acquire().await?);
        };
        loop {
            let acquire = pool.acquire();
            tokio::pin!(acquire);
            loop {
                tokio::select! {
                    conn = &mut acquire => return Ok(conn?),
                    () = tokio::time::sleep(hosts.probe_after) => {
                        // sqlx's connect loop backs off up to a fifth of the acquire timeout
                        // between attempts: after a switch, start a new wait at once.
                        if hosts.locate(self.pool()).await {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Runs `op` again with the store's reconnect policy while it fails with a transient error
    /// (a lost connection, a server restarting or failing over). Only for work that is safe to
    /// repeat: reads, and appends with an idempotency key.
    pub(crate) async fn reconnecting<T, F, Fut>(&self, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let Some(policy) = self.settings().reconnect.clone() else {
            return op().await;
        };
        let mut attempt = 1;
        loop {
            match op().await {
                Err(e) if e.is_transient() && attempt < policy.max_attempts => {
                    let delay = policy.delay(attempt);
                    tracing::info!(attempt, ?delay, error = %e, "angzarr store: reconnecting");
                    crate::telemetry::transient("reconnect");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `host:port` of the server the store's pool uses now, on a store made from a host list;
    /// `None` for a single-host store.
    pub fn current_host(&self) -> Option<String> {
        self.hosts().map(|h| h.current())
    }

    /// Whether the server behind `pool` is a hot standby (`pg_is_in_recovery()`).
    pub async fn is_standby(&self, pool: &PgPool) -> Result<bool> {
        let mut conn = self.acquire_from(pool).await?;
        Ok(in_recovery(&mut conn).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_libpq_host_list() {
        let l = split_hosts(
            "postgres://u:p%40w@10.0.0.1:5432,db2:6543/store?sslmode=prefer&target_session_attrs=read-write",
        )
        .unwrap();
        assert_eq!(
            l.urls,
            [
                "postgres://u:p%40w@10.0.0.1:5432/store?sslmode=prefer",
                "postgres://u:p%40w@db2:6543/store?sslmode=prefer"
            ]
        );
        assert_eq!(l.target, Some(TargetSession::ReadWrite));
    }

    #[test]
    fn a_single_host_stays_as_it_is() {
        let l = split_hosts("postgresql://localhost/db").unwrap();
        assert_eq!(l.urls, ["postgresql://localhost/db"]);
        assert_eq!(l.target, None);
        let l = split_hosts("postgres:///db?host=/run/postgresql").unwrap();
        assert_eq!(l.urls, ["postgres:///db?host=/run/postgresql"]);
        let l = split_hosts("postgres://h:1?target_session_attrs=standby").unwrap();
        assert_eq!(l.urls, ["postgres://h:1"]);
        assert_eq!(l.target, Some(TargetSession::Standby));
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        assert!(split_hosts("h1,h2/db").is_err());
        assert!(split_hosts("postgres://u@h1,,h2/db").is_err());
        assert!(split_hosts("postgres://h1/db?target_session_attrs=prefer-standby").is_err());
    }

    #[test]
    fn targets_fit_recovery_states() {
        assert!(TargetSession::ReadWrite.fits(false));
        assert!(!TargetSession::ReadWrite.fits(true));
        assert!(TargetSession::Standby.fits(true));
        assert!(!TargetSession::Standby.fits(false));
        assert!(TargetSession::Any.fits(true) && TargetSession::Any.fits(false));
    }
}
