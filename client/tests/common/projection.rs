//! A read model for projection runner tests: one table per test, a row per applied event
//! (no unique key, so an event applied twice shows up twice).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use angzarr_store_client::{
    handler_fn, AggregateId, Append, EventStore, Expected, FnHandler, Handler, HandlerError,
    NewEvent, RetryPolicy,
};
use futures_util::future::BoxFuture;
use uuid::Uuid;

/// A safety net so a broken runner fails the test instead of hanging it.
pub const GIVE_UP: Duration = Duration::from_secs(90);

pub struct ReadModel {
    pub table: String,
}

impl ReadModel {
    pub async fn create(store: &EventStore) -> Self {
        let table = format!("model_{}", Uuid::new_v4().simple());
        sqlx::query(&format!(
            "CREATE TABLE {table} (root uuid NOT NULL, sequence bigint NOT NULL, applier text NOT NULL)"
        ))
        .execute(store.pool())
        .await
        .unwrap();
        ReadModel { table }
    }

    /// Inserts a row per event, tagged with `applier`.
    pub fn handler(&self, applier: &'static str) -> impl Handler {
        self.poisonable(applier, Arc::default(), Duration::from_millis(1))
    }

    /// Like [`handler`](Self::handler), taking `delay` per event, so the runner is inside a
    /// transaction most of the time.
    pub fn slow_handler(&self, applier: &'static str, delay: Duration) -> impl Handler {
        self.poisonable(applier, Arc::default(), delay)
    }

    /// Like [`handler`](Self::handler), but fails on payload `poison`, counting the attempts.
    pub fn poisonable_handler(&self, attempts: Arc<AtomicUsize>) -> impl Handler {
        self.poisonable("p", attempts, Duration::from_millis(1))
    }

    fn poisonable(
        &self,
        applier: &'static str,
        attempts: Arc<AtomicUsize>,
        delay: Duration,
    ) -> FnHandler<
        impl for<'a> FnMut(
                &'a angzarr_store_client::FeedEvent,
                &'a mut sqlx::PgConnection,
            ) -> BoxFuture<'a, Result<(), HandlerError>>
            + Send,
    > {
        let insert = format!(
            "INSERT INTO {} (root, sequence, applier) VALUES ($1, $2, $3)",
            self.table
        );
        handler_fn(move |event, tx| {
            let insert = insert.clone();
            let attempts = attempts.clone();
            Box::pin(async move {
                if event.event.payload == b"poison" {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    return Err("poisoned payload".into());
                }
                sqlx::query(&insert)
                    .bind(event.event.root)
                    .bind(event.event.sequence)
                    .bind(applier)
                    .execute(&mut *tx)
                    .await?;
                // Widen the window in which two runners overlap.
                tokio::time::sleep(delay).await;
                Ok(())
            })
        })
    }

    /// Waits until `n` rows are there, then a little longer so late duplicates show up too.
    pub async fn wait_for(&self, store: &EventStore, n: usize) {
        let deadline = tokio::time::Instant::now() + GIVE_UP;
        loop {
            let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", self.table))
                .fetch_one(store.pool())
                .await
                .unwrap();
            if count as usize >= n {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {count} of {n} events were applied"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Every applied (root, sequence), duplicates included, sorted.
    pub async fn applied(&self, store: &EventStore) -> Vec<(Uuid, i64)> {
        sqlx::query_as(&format!(
            "SELECT root, sequence FROM {} ORDER BY root, sequence",
            self.table
        ))
        .fetch_all(store.pool())
        .await
        .unwrap()
    }

    pub async fn counts(&self, store: &EventStore) -> BTreeMap<(Uuid, i64), i64> {
        let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(&format!(
            "SELECT root, sequence, count(*) FROM {} GROUP BY 1, 2",
            self.table
        ))
        .fetch_all(store.pool())
        .await
        .unwrap();
        rows.into_iter().map(|(r, s, n)| ((r, s), n)).collect()
    }

    pub async fn sequences(&self, store: &EventStore) -> Vec<i64> {
        sqlx::query_scalar(&format!(
            "SELECT sequence FROM {} ORDER BY sequence",
            self.table
        ))
        .fetch_all(store.pool())
        .await
        .unwrap()
    }

    pub async fn appliers(&self, store: &EventStore) -> Vec<String> {
        sqlx::query_scalar(&format!(
            "SELECT DISTINCT applier FROM {} ORDER BY 1",
            self.table
        ))
        .fetch_all(store.pool())
        .await
        .unwrap()
    }
}

/// Appends `per_root` events to each of `roots` new aggregates, one event per append,
/// pausing `pause` between appends; each append is idempotent, so retrying one whose commit
/// reply was lost (a server restart) cannot write it twice. Returns the (root, sequence) of
/// every event, sorted.
pub fn write_events(
    store: &EventStore,
    domain: &str,
    roots: usize,
    per_root: i64,
    pause: Duration,
) -> tokio::task::JoinHandle<Vec<(Uuid, i64)>> {
    let store = store.clone();
    let domain = domain.to_string();
    tokio::spawn(async move {
        let roots: Vec<Uuid> = (0..roots).map(|_| Uuid::new_v4()).collect();
        let mut written = Vec::new();
        let retry = RetryPolicy::default()
            .with_max_attempts(200)
            .with_delays(Duration::from_millis(20), Duration::from_millis(500));
        for seq in 0..per_root {
            for &root in &roots {
                let append = Append::new(AggregateId::new(&domain, root), Expected::Any)
                    .idempotency_key(format!("{root}-{seq}"))
                    .event(NewEvent::new("Counted", seq.to_string().into_bytes()));
                let got = retry
                    .run(|_| store.append(store.pool(), &append))
                    .await
                    .expect("append");
                assert_eq!(got.first_sequence, seq);
                written.push((root, seq));
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
        }
        written.sort();
        written
    })
}

/// Ends the sessions holding `consumer`'s runner lease (the runner's advisory lock), as a
/// network cut would.
pub async fn terminate_lease_holders(store: &EventStore, consumer: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_locks \
          WHERE locktype = 'advisory' AND granted AND objsubid = 2 \
            AND classid = x'616e7a01'::int4::oid AND objid = pg_catalog.hashtext($1)::oid",
    )
    .bind(consumer)
    .fetch_one(store.pool())
    .await
    .unwrap()
}

/// The backend holding `consumer`'s runner lease, if any.
pub async fn lease_holder(store: &EventStore, consumer: &str) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_catalog.pg_locks \
          WHERE locktype = 'advisory' AND granted AND objsubid = 2 \
            AND classid = x'616e7a01'::int4::oid AND objid = pg_catalog.hashtext($1)::oid",
    )
    .bind(consumer)
    .fetch_optional(store.pool())
    .await
    .unwrap()
}
