//! eventcore-postgres 2.1.0 through its own Rust API (`EventStore`, `EventReader`).
//!
//! Built only with the `eventcore` feature: `bench/run.sh` downloads the crate from crates.io at
//! bench time and, when it cannot be built, builds the driver without it; the tables then say
//! why the column is missing.

use crate::systems::Outcome;

/// Why there is no eventcore column, or `None` when it was built in.
pub fn unavailable() -> Option<&'static str> {
    if cfg!(feature = "eventcore") {
        None
    } else {
        Some("not built (eventcore-postgres 2.1.0 could not be fetched or compiled; see bench/out/build.log)")
    }
}

#[cfg(feature = "eventcore")]
mod imp {
    use super::Outcome;
    use anyhow::{anyhow, Result};
    use eventcore_postgres::PostgresEventStore;
    use eventcore_types::{
        BatchSize, Event, EventFilter, EventPage, EventReader, EventStore, EventStoreError,
        StreamId, StreamPosition, StreamVersion, StreamWrites,
    };
    use futures::StreamExt;
    use serde::{Deserialize, Serialize};
    use sqlx::postgres::PgPoolOptions;

    /// The benchmark's event, with the same fields as the JSON payload the other stores get.
    #[derive(Clone, Serialize, Deserialize)]
    pub struct Deposited {
        stream: StreamId,
        amount: i64,
        currency: String,
        reference: String,
        note: String,
    }

    impl Event for Deposited {
        fn stream_id(&self) -> &StreamId {
            &self.stream
        }
        fn event_type_name() -> &'static str {
            "Deposited"
        }
    }

    /// One writer's store: a pool of exactly one connection, like the other systems' clients.
    pub struct Store(PostgresEventStore, sqlx::PgPool);

    pub async fn connect(url: &str, connections: u32) -> Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .min_connections(connections)
            .connect(url)
            .await?;
        Ok(Store(PostgresEventStore::from_pool(pool.clone()), pool))
    }

    /// The server process behind the store's (single) pooled connection.
    pub async fn backend_pid(store: &Store) -> Result<i32> {
        Ok(sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&store.1)
            .await?)
    }

    /// Creates eventcore's tables with its own migrations.
    pub async fn migrate(store: &Store) {
        store.0.migrate().await;
    }

    fn stream_id(stream: &str) -> Result<StreamId> {
        StreamId::try_new(stream.to_string()).map_err(|e| anyhow!("bad stream id {stream}: {e}"))
    }

    /// Appends `n` events to `stream`, expecting it to hold `expected` events.
    ///
    /// Boxed as a `Send` future here, where the lifetimes are concrete: the trait's async fn
    /// otherwise trips the compiler's higher-ranked `Send` check inside `tokio::spawn`.
    pub fn append<'a>(
        store: &'a Store,
        stream: &'a str,
        expected: i64,
        n: usize,
    ) -> futures::future::BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let sid = stream_id(stream)?;
            let mut writes = StreamWrites::new()
                .register_stream(sid.clone(), StreamVersion::new(expected as usize))?;
            for i in 0..n {
                writes = writes.append(Deposited {
                    stream: sid.clone(),
                    amount: 12345 + i as i64,
                    currency: "EUR".into(),
                    reference: "bench-0000000000".into(),
                    note: "a payload of about one hundred bytes".into(),
                })?;
            }
            match store.0.append_events(writes).await {
                Ok(_) => Ok(Outcome::Appended),
                Err(EventStoreError::VersionConflict { .. }) => Ok(Outcome::Conflict),
                Err(e) => Err(anyhow!("eventcore append failed: {e}")),
            }
        })
    }

    /// Reads the whole stream through `EventStore::read_stream`, decoding every event.
    pub async fn read_all(store: &Store, stream: &str) -> Result<u64> {
        let mut events = store.0.read_stream::<Deposited>(stream_id(stream)?).await?;
        let mut n = 0u64;
        while let Some(e) = events.next().await {
            let e = e?;
            n += (e.amount != 0) as u64;
        }
        Ok(n)
    }

    /// One page of the global feed (`EventReader::read_events`), after `after`.
    pub async fn feed_page(
        store: &Store,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> Result<(u64, Option<uuid::Uuid>)> {
        let page = match after {
            Some(p) => EventPage::after(StreamPosition::new(p), BatchSize::new(limit)),
            None => EventPage::first(BatchSize::new(limit)),
        };
        let rows: Vec<(Deposited, StreamPosition)> =
            store.0.read_events(EventFilter::all(), page).await?;
        let last = rows.last().map(|(_, p)| p.into_inner()).or(after);
        Ok((rows.len() as u64, last))
    }
}

#[cfg(not(feature = "eventcore"))]
mod imp {
    use super::Outcome;
    use anyhow::{bail, Result};

    pub struct Store;

    pub async fn connect(_url: &str, _connections: u32) -> Result<Store> {
        bail!("eventcore-postgres is not built into this driver")
    }
    pub async fn migrate(_store: &Store) {}
    pub async fn backend_pid(_store: &Store) -> Result<i32> {
        bail!("eventcore-postgres is not built into this driver")
    }
    pub async fn append(_s: &Store, _stream: &str, _expected: i64, _n: usize) -> Result<Outcome> {
        bail!("eventcore-postgres is not built into this driver")
    }
    pub async fn read_all(_s: &Store, _stream: &str) -> Result<u64> {
        bail!("eventcore-postgres is not built into this driver")
    }
    pub async fn feed_page(
        _s: &Store,
        _after: Option<uuid::Uuid>,
        _limit: usize,
    ) -> Result<(u64, Option<uuid::Uuid>)> {
        bail!("eventcore-postgres is not built into this driver")
    }
}

pub use imp::*;
