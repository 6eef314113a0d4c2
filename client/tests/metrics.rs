//! With feature `metrics`, appends, conflicts, retries and projection progress reach the
//! installed recorder. A binary of its own: it installs the process-wide recorder.
//! `cargo test -p angzarr_store_client --features metrics --test metrics`

#![cfg(feature = "metrics")]

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::Duration;

use angzarr_store_client::{
    AggregateId, Append, Error, Expected, FeedQuery, NewEvent, RetryPolicy,
};
use common::projection::ReadModel;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use uuid::Uuid;

/// Counter totals so far (a snapshot hands out what was counted since the previous one).
#[derive(Default)]
struct Totals(HashMap<String, u64>, Option<DebugValue>);

impl Totals {
    fn update(&mut self, snapshotter: &Snapshotter) -> &mut Self {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            match value {
                DebugValue::Counter(n) => {
                    *self.0.entry(key.key().name().to_string()).or_default() += n
                }
                gauge => self.1 = Some(gauge),
            }
        }
        self
    }

    fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or_default()
    }
}

#[tokio::test]
async fn counters_follow_appends_conflicts_retries_and_projections() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let store = common::store().await;
    let domain = common::domain("metrics");
    let root = Uuid::new_v4();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::New)
                .events([NewEvent::new("A", vec![]), NewEvent::new("B", vec![])]),
        )
        .await
        .unwrap();
    let mut totals = Totals::default();
    totals.update(&snapshotter);
    assert_eq!(totals.get("angzarr_client_appends_total"), 1);
    assert_eq!(totals.get("angzarr_client_appended_events_total"), 2);

    // A stale writer retried twice: three conflicts, two retries, then it gives up.
    let stale = Append::new(AggregateId::new(&domain, root), Expected::New)
        .event(NewEvent::new("C", vec![]));
    let out = RetryPolicy::default()
        .with_max_attempts(3)
        .with_delays(Duration::from_millis(1), Duration::from_millis(2))
        .run(|_| store.append(store.pool(), &stale))
        .await;
    assert!(matches!(out, Err(Error::SequenceConflict { .. })));
    totals.update(&snapshotter);
    assert_eq!(totals.get("angzarr_client_conflicts_total"), 3);
    assert_eq!(totals.get("angzarr_client_retries_total"), 2);
    assert_eq!(totals.get("angzarr_client_appends_total"), 1);

    let model = ReadModel::create(&store).await;
    let runner = store.projection(
        format!("metrics-{}", Uuid::new_v4().simple()),
        FeedQuery::new().domains([domain.clone()]),
    );
    let task = tokio::spawn({
        let handler = model.handler("m");
        async move { runner.run(handler).await }
    });
    model.wait_for(&store, 2).await;
    task.abort();
    totals.update(&snapshotter);
    assert_eq!(totals.get("angzarr_client_projection_events_total"), 2);
    assert!(matches!(totals.1, Some(DebugValue::Gauge(_))), "lag gauge");
}
