//! Our store through its Rust client (`angzarr_store_client`, client/ in this repository), for W8
//! and the RSS check. Built with the `client` feature; without it W8 measures sqlx directly and
//! says so.

use crate::systems::{Batch, Outcome};

pub fn unavailable() -> Option<&'static str> {
    if cfg!(feature = "client") {
        None
    } else {
        Some("not built (angzarr_store_client did not compile at bench time; see bench/out/build.log)")
    }
}

#[cfg(feature = "client")]
mod imp {
    use super::{Batch, Outcome};
    use angzarr_store_client::{
        AggregateId, Append, Error, EventStore, Expected, NewEvent, ReadStream,
    };
    use anyhow::{anyhow, Result};
    use futures::TryStreamExt;
    use uuid::Uuid;

    /// A client store on a pool of one connection, used the way its documentation shows:
    /// `store.append(store.pool(), ...)`, so every call takes the connection from the pool.
    pub struct Handle {
        store: EventStore,
    }

    /// Built with the client's own builder, as its documentation shows (the pool settings a
    /// user gets: one connection here, no ping before each use).
    pub async fn connect(url: &str) -> Result<Handle> {
        let store = EventStore::builder()
            .with_max_connections(1)
            .with_min_connections(1)
            .connect(url)
            .await?;
        Ok(Handle { store })
    }

    /// The server process behind the pool's single connection.
    pub async fn backend_pid(h: &Handle) -> Result<i32> {
        Ok(sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(h.store.pool())
            .await?)
    }

    /// Appends the batch through `EventStore::append` with `Expected::Next(next)`; boxed as a
    /// `Send` future where the lifetimes are concrete (see peer_eventcore::append).
    pub fn append<'a>(
        h: &'a mut Handle,
        domain: &'a str,
        root: Uuid,
        next: i64,
        b: &'a Batch,
    ) -> futures::future::BoxFuture<'a, Result<Outcome>> {
        Box::pin(async move {
            let append = Append::new(AggregateId::new(domain, root), Expected::Next(next)).events(
                b.types
                    .iter()
                    .zip(&b.payloads)
                    .map(|(t, p)| NewEvent::new(t.as_str(), p.clone())),
            );
            match h.store.append(h.store.pool(), &append).await {
                Ok(_) => Ok(Outcome::Appended),
                Err(Error::SequenceConflict { .. }) => Ok(Outcome::Conflict),
                Err(e) => Err(anyhow!("angzarr_store_client append failed: {e}")),
            }
        })
    }

    /// Streams the whole aggregate through `EventStore::read_stream`; returns (events, bytes).
    pub async fn read_all(h: &mut Handle, domain: &str, root: Uuid) -> Result<(u64, u64)> {
        let mut events = h.store.read_stream(
            h.store.pool(),
            ReadStream::new(AggregateId::new(domain, root)),
        );
        let (mut n, mut bytes) = (0u64, 0u64);
        while let Some(e) = events.try_next().await? {
            n += 1;
            bytes += e.payload.len() as u64;
        }
        Ok((n, bytes))
    }
}

#[cfg(not(feature = "client"))]
mod imp {
    use super::{Batch, Outcome};
    use anyhow::{bail, Result};
    use uuid::Uuid;

    pub struct Handle;

    pub async fn connect(_url: &str) -> Result<Handle> {
        bail!("angzarr_store_client is not built into this driver")
    }
    pub async fn backend_pid(_h: &Handle) -> Result<i32> {
        bail!("angzarr_store_client is not built into this driver")
    }
    pub async fn append(
        _h: &mut Handle,
        _d: &str,
        _r: Uuid,
        _n: i64,
        _b: &Batch,
    ) -> Result<Outcome> {
        bail!("angzarr_store_client is not built into this driver")
    }
    pub async fn read_all(_h: &mut Handle, _d: &str, _r: Uuid) -> Result<(u64, u64)> {
        bail!("angzarr_store_client is not built into this driver")
    }
}

pub use imp::*;
