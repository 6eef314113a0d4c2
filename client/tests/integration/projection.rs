//! The projection runner: racing copies of one consumer, poisoned events, readiness.
//! The server-restart test lives in its own binary (`tests/projection_restart.rs`) because it
//! cuts every connection of the cluster.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use angzarr_store_client::{
    AggregateId, Append, Expected, FeedQuery, NewEvent, PoisonPolicy, ProjectionError, RetryPolicy,
};
use uuid::Uuid;

use common::projection::*;

#[tokio::test]
async fn two_runners_of_one_consumer_apply_each_event_once() {
    let store = common::store().await;
    let domain = common::domain("proj_race");
    let model = ReadModel::create(&store).await;
    let consumer = format!("race-{}", Uuid::new_v4().simple());

    // Two copies of the consumer; a long lease check, so after the leader's lease is cut
    // both apply at the same time until it notices, and only the fence keeps them apart.
    let spawn = |name: &'static str| {
        let runner = store
            .projection(&consumer, FeedQuery::new().domains([domain.clone()]))
            .with_batch_size(7)
            .with_standby_poll(Duration::from_millis(20))
            .with_lease_check(Duration::from_secs(30));
        let ready = runner.caught_up();
        let handler = model.handler(name);
        (
            tokio::spawn(async move { runner.run(handler).await }),
            ready,
        )
    };
    let (a, mut ready_a) = spawn("a");
    let (b, mut ready_b) = spawn("b");

    let writer = write_events(&store, &domain, 6, 60, Duration::from_millis(2));
    // Cut the leader's lease a few times while events flow.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        terminate_lease_holders(&store, &consumer).await;
    }
    let written = writer.await.unwrap();

    model.wait_for(&store, written.len()).await;
    // One of them is the leader and says it is caught up.
    tokio::time::timeout(common::projection::GIVE_UP, async {
        tokio::select! {
            r = ready_a.wait_for(|c| *c) => { r.unwrap(); }
            r = ready_b.wait_for(|c| *c) => { r.unwrap(); }
        }
    })
    .await
    .expect("a runner reports it is caught up");
    let twice = model
        .counts(&store)
        .await
        .values()
        .filter(|&&n| n > 1)
        .count();
    assert_eq!(twice, 0, "events applied more than once");
    assert_eq!(model.applied(&store).await, written);
    let used = model.appliers(&store).await;
    assert!(
        used.len() == 2,
        "both runners applied some batches: {used:?}"
    );
    a.abort();
    b.abort();
}

#[tokio::test]
async fn a_consumer_group_member_is_its_own_consumer() {
    let store = common::store().await;
    let domain = common::domain("proj_group");
    let model = ReadModel::create(&store).await;
    let consumer = format!("group-{}", Uuid::new_v4().simple());
    let mut tasks = Vec::new();
    let mut names = Vec::new();
    for member in 0..2 {
        for _copy in 0..2 {
            let runner = store
                .projection(
                    &consumer,
                    FeedQuery::new().domains([domain.clone()]).member(member, 2),
                )
                .with_standby_poll(Duration::from_millis(20));
            names.push(runner.consumer().to_string());
            let handler = model.handler("m");
            tasks.push(tokio::spawn(async move { runner.run(handler).await }));
        }
    }
    let written = write_events(&store, &domain, 8, 10, Duration::ZERO)
        .await
        .unwrap();
    model.wait_for(&store, written.len()).await;
    assert_eq!(model.applied(&store).await, written);
    names.dedup();
    assert_eq!(
        names,
        [format!("{consumer}/0-of-2"), format!("{consumer}/1-of-2")]
    );
    for t in tasks {
        t.abort();
    }
}

#[tokio::test]
async fn a_poisoned_event_is_retried_then_parked_skipped_or_stops_the_runner() {
    let store = common::store().await;
    let domain = common::domain("proj_poison");
    let root = Uuid::new_v4();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::Any).events([
                NewEvent::new("Good", b"1".to_vec()),
                NewEvent::new("Bad", b"poison".to_vec()),
                NewEvent::new("Good", b"3".to_vec()),
            ]),
        )
        .await
        .unwrap();
    let parked = format!("parked_{}", Uuid::new_v4().simple());
    sqlx::query(&format!(
        "CREATE TABLE {parked} (consumer text, feed_tx bigint, global_position bigint, \
         domain text, edition text, root uuid, sequence bigint, event_type text, error text, \
         parked_at timestamptz DEFAULT now())"
    ))
    .execute(store.pool())
    .await
    .unwrap();
    let fast = RetryPolicy::default()
        .with_max_attempts(3)
        .with_delays(Duration::from_millis(1), Duration::from_millis(5));

    // Stop: the runner ends with the event; the checkpoint stays before it.
    let model = ReadModel::create(&store).await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let consumer = format!("stop-{}", Uuid::new_v4().simple());
    let runner = store
        .projection(&consumer, FeedQuery::new().domains([domain.clone()]))
        .with_handler_retry(fast.clone());
    let err = tokio::time::timeout(
        common::projection::GIVE_UP,
        runner.run(model.poisonable_handler(attempts.clone())),
    )
    .await
    .expect("the runner stops")
    .unwrap_err();
    match err {
        ProjectionError::Poisoned { event, .. } => assert_eq!(event.event.sequence, 1),
        other => panic!("{other}"),
    }
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "tried max_attempts times"
    );
    assert_eq!(model.sequences(&store).await, [0]);

    // Park: the event lands in the table, the others in the read model, each once.
    let model = ReadModel::create(&store).await;
    let consumer = format!("park-{}", Uuid::new_v4().simple());
    let runner = store
        .projection(&consumer, FeedQuery::new().domains([domain.clone()]))
        .with_handler_retry(fast.clone())
        .with_poison_policy(PoisonPolicy::Park {
            table: parked.clone(),
        });
    let task = tokio::spawn({
        let handler = model.poisonable_handler(Arc::default());
        async move { runner.run(handler).await }
    });
    model.wait_for(&store, 2).await;
    task.abort();
    assert_eq!(model.sequences(&store).await, [0, 2]);
    let rows: Vec<(String, i64, String, String)> = sqlx::query_as(&format!(
        "SELECT consumer, sequence, event_type, error FROM {parked}"
    ))
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        rows,
        [(
            consumer,
            1,
            "Bad".to_string(),
            "poisoned payload".to_string()
        )]
    );

    // Skip: the callback hears of it.
    let model = ReadModel::create(&store).await;
    let skipped = Arc::new(std::sync::Mutex::new(Vec::new()));
    let runner = store
        .projection(
            format!("skip-{}", Uuid::new_v4().simple()),
            FeedQuery::new().domains([domain.clone()]),
        )
        .with_handler_retry(fast)
        .with_poison_policy(PoisonPolicy::Skip(Arc::new({
            let skipped = skipped.clone();
            move |event, error| {
                skipped
                    .lock()
                    .unwrap()
                    .push((event.event.sequence, error.to_string()))
            }
        })));
    let task = tokio::spawn({
        let handler = model.poisonable_handler(Arc::default());
        async move { runner.run(handler).await }
    });
    model.wait_for(&store, 2).await;
    task.abort();
    assert_eq!(model.sequences(&store).await, [0, 2]);
    assert_eq!(
        *skipped.lock().unwrap(),
        [(1, "poisoned payload".to_string())]
    );
}

#[tokio::test]
async fn caught_up_follows_the_feed_and_run_until_stops_cleanly() {
    let store = common::store().await;
    let domain = common::domain("proj_ready");
    let model = ReadModel::create(&store).await;
    let runner = store.projection(
        format!("ready-{}", Uuid::new_v4().simple()),
        FeedQuery::new().domains([domain.clone()]),
    );
    let mut ready = runner.caught_up();
    assert!(!*ready.borrow());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(runner.run_until(model.handler("r"), async {
        stopped.await.ok();
    }));
    tokio::time::timeout(common::projection::GIVE_UP, ready.wait_for(|c| *c))
        .await
        .unwrap()
        .unwrap();
    let written = write_events(&store, &domain, 2, 3, Duration::ZERO)
        .await
        .unwrap();
    model.wait_for(&store, written.len()).await;
    tokio::time::timeout(common::projection::GIVE_UP, ready.wait_for(|c| *c))
        .await
        .unwrap()
        .unwrap();
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
