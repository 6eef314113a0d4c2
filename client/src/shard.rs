//! A store sharded by aggregate: several angzarr_store databases, each aggregate on exactly one
//! of them, chosen by the same hash the PL/Proxy router uses (`shard/router_base.sql`). Talk
//! to the shards directly with [`ShardedStore`] (no router hop; a transaction on one shard
//! keeps its full atomicity), or give [`EventStore::connect`] the router's URL and use the
//! ordinary API (every call then commits on its own; see the operations guide, "Sharding").

use md5::{Digest, Md5};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::aggregate::AggregateId;
use crate::append::{Append, Appended};
use crate::error::{Error, Result};
use crate::store::EventStore;

/// The routing hash of an aggregate: the first 32 bits of `md5("{domain}:{root}")`, big-endian,
/// as a signed integer, with the root in its canonical lower-case hyphenated form. The edition
/// is not part of it: an edition lives on the shard of its main timeline. Equal to
/// `angzarr_router.shard_hash(domain, root)` on the router, and never changes.
///
/// ```
/// use angzarr_store_client::shard_hash;
/// let root = uuid::Uuid::parse_str("00000000-0000-0000-0000-000000000001").unwrap();
/// assert_eq!(shard_hash("order", root) & 3, 0);
/// ```
pub fn shard_hash(domain: &str, root: Uuid) -> i32 {
    let digest = Md5::new()
        .chain_update(domain.as_bytes())
        .chain_update(b":")
        .chain_update(root.hyphenated().to_string().as_bytes())
        .finalize();
    i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The shard of `hash` among `shards` (a power of two), as PL/Proxy maps it: `hash & (shards - 1)`.
pub fn shard_index(hash: i32, shards: usize) -> usize {
    (hash as u32 as usize) & (shards - 1)
}

/// One [`EventStore`] per shard, in shard order (the order of `angzarr_router.shards`).
#[derive(Clone, Debug)]
pub struct ShardedStore {
    shards: Vec<EventStore>,
}

impl ShardedStore {
    /// The stores of the shards, in shard order. Their number must be a power of two.
    pub fn new(shards: Vec<EventStore>) -> Result<Self> {
        if shards.is_empty() || !shards.len().is_power_of_two() {
            return Err(Error::InvalidArgument {
                message: format!(
                    "a sharded store needs a power of two shards, got {}",
                    shards.len()
                ),
                hint: Some("List every shard, in the order of angzarr_router.shards.".to_string()),
            });
        }
        Ok(ShardedStore { shards })
    }

    /// Connects to every shard URL (in shard order) with the default pool settings.
    pub async fn connect<S: AsRef<str>>(urls: impl IntoIterator<Item = S>) -> Result<Self> {
        let mut shards = Vec::new();
        for url in urls {
            shards.push(EventStore::connect(url.as_ref()).await?);
        }
        Self::new(shards)
    }

    /// Connects to the shards a router lists in `angzarr_router.shards`, reusing the router
    /// URL's user and password: libpq keyword strings there (`host=... port=... dbname=...`)
    /// are read for host, port and dbname.
    pub async fn connect_via_router(router_url: &str) -> Result<Self> {
        let router = PgPool::connect(router_url).await?;
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT connstr FROM angzarr_router.shards ORDER BY shard")
                .fetch_all(&router)
                .await?;
        router.close().await;
        let base = url_without_target(router_url);
        let urls = rows
            .iter()
            .map(|c| shard_url(&base, c))
            .collect::<Result<Vec<_>>>()?;
        Self::connect(urls).await
    }

    /// The number of shards.
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Always false: a sharded store has at least one shard.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The shards' stores, in shard order.
    pub fn shards(&self) -> &[EventStore] {
        &self.shards
    }

    /// The shard that holds the aggregate (all its editions).
    pub fn shard_of(&self, id: &AggregateId) -> usize {
        shard_index(shard_hash(id.domain(), id.root()), self.shards.len())
    }

    /// The store of the shard that holds the aggregate: run any single-aggregate operation
    /// (reads, loads, snapshots, positions) on it.
    pub fn store_for(&self, id: &AggregateId) -> &EventStore {
        &self.shards[self.shard_of(id)]
    }

    /// Appends on the aggregate's shard, committed on its own.
    pub async fn append(&self, append: &Append) -> Result<Appended> {
        let store = self.store_for(&append.aggregate);
        store.append(store.pool(), append).await
    }

    /// A transaction on the one shard that holds all of `aggregates`, for atomic writes to
    /// several aggregates (appends, the `angzarr.expected_sequences` multi-aggregate insert).
    /// Fails with [`Error::CrossShard`] when they live on different shards: no transaction
    /// spans shards.
    pub async fn begin_for(
        &self,
        aggregates: &[AggregateId],
    ) -> Result<(&EventStore, Transaction<'static, Postgres>)> {
        let Some(first) = aggregates.first() else {
            return Err(Error::InvalidArgument {
                message: "begin_for needs at least one aggregate".to_string(),
                hint: None,
            });
        };
        let shard = self.shard_of(first);
        if let Some(other) = aggregates.iter().find(|a| self.shard_of(a) != shard) {
            return Err(Error::CrossShard {
                message: format!(
                    "{}/{} is on shard {shard} but {}/{} on shard {}: one transaction cannot write both",
                    first.domain(), first.root(), other.domain(), other.root(), self.shard_of(other)
                ),
                hint: Some("Write each aggregate in its own transaction (a saga or process manager), or choose roots that share a shard.".to_string()),
            });
        }
        let store = &self.shards[shard];
        Ok((store, store.pool().begin().await?))
    }
}

/// `postgres://user:pass@host:port/db?params` without `host:port/db`, for shard URLs.
fn url_without_target(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (userinfo, rest) = match rest.rsplit_once('@') {
        Some((u, r)) => (format!("{u}@"), r),
        None => (String::new(), rest),
    };
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    (format!("{scheme}://{userinfo}"), query)
}

/// A shard's URL from the router URL's credentials and a libpq keyword connection string.
fn shard_url((prefix, query): &(String, String), connstr: &str) -> Result<String> {
    let mut host = "127.0.0.1";
    let mut port = "5432";
    let mut dbname = None;
    for pair in connstr.split_whitespace() {
        match pair.split_once('=') {
            Some(("host", v)) => host = v,
            Some(("port", v)) => port = v,
            Some(("dbname", v)) => dbname = Some(v),
            _ => {}
        }
    }
    let dbname = dbname.ok_or_else(|| Error::InvalidArgument {
        message: format!("shard connection string without dbname: {connstr}"),
        hint: Some("List shards as 'host=... port=... dbname=...'.".to_string()),
    })?;
    Ok(format!("{prefix}{host}:{port}/{dbname}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_the_routers() {
        // Values from the router: SELECT angzarr_router.shard_hash('order', '...01'), ...
        let root = Uuid::parse_str("00000000-0000-0000-0000-000000000001").unwrap();
        assert_eq!(shard_hash("order", root), 230299368);
        let root = Uuid::parse_str("c0ffee00-0000-4000-8000-0000000000ab").unwrap();
        assert_eq!(shard_hash("account", root), 412622651);
        // A negative hash (top bit set) maps by its low bits like any other.
        let root = Uuid::parse_str("c0ffee00-0000-4000-8000-0000000000ac").unwrap();
        assert_eq!(shard_hash("account", root), -2009365720);
        assert_eq!(shard_index(-2009365720, 8), 0);
        assert_eq!(shard_index(-1737749480, 8), 0);
    }

    #[test]
    fn split_keeps_the_low_bits() {
        // Growing from N to 2N shards moves an aggregate from shard k to k or k + N only.
        for n in 0..1000u32 {
            let hash = shard_hash("d", Uuid::from_u128(n as u128 * 7919));
            let (four, eight) = (shard_index(hash, 4), shard_index(hash, 8));
            assert!(eight == four || eight == four + 4);
        }
    }

    #[test]
    fn shard_urls_keep_credentials_and_parameters() {
        let base =
            url_without_target("postgres://app:secret@router:6432/angzarr_router?sslmode=require");
        assert_eq!(
            shard_url(&base, "host=10.0.0.7 port=5433 dbname=shard_3").unwrap(),
            "postgres://app:secret@10.0.0.7:5433/shard_3?sslmode=require"
        );
        assert!(shard_url(&base, "host=x").is_err());
    }
}
