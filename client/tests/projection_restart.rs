//! A projection runner and a writer keep going through a restart of the server: the read model
//! ends up with every event exactly once. A binary of its own, because the restart cuts every
//! connection of the cluster (other tests would fail with it).
//!
//! Needs `ANGZARR_TEST_RESTART_COMMAND`, a shell command that restarts the server under test,
//! e.g. `runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D DATA -m fast -w restart`.
//! Without it the test says so and passes without running.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use angzarr_store_client::FeedQuery;
use common::projection::*;
use uuid::Uuid;

#[tokio::test]
async fn a_runner_applies_every_event_once_across_a_server_restart() {
    let Ok(restart) = std::env::var("ANGZARR_TEST_RESTART_COMMAND") else {
        eprintln!("ANGZARR_TEST_RESTART_COMMAND is not set: server restart test not run");
        return;
    };
    let store = common::store().await;
    let domain = common::domain("proj_restart");
    let model = ReadModel::create(&store).await;
    let consumer = format!("restart-{}", Uuid::new_v4().simple());
    let runner = store
        .projection(consumer.clone(), FeedQuery::new().domains([domain.clone()]))
        .with_batch_size(5)
        .with_lease_check(Duration::from_millis(500));
    let mut ready = runner.caught_up();
    // Slow enough that the restart lands inside a batch's transaction.
    let handler = model.slow_handler("r", Duration::from_millis(10));
    let task = tokio::spawn(async move { runner.run(handler).await });

    let writer = write_events(&store, &domain, 4, 60, Duration::from_millis(5));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let leader_before = lease_holder(&store, &consumer).await;
    assert!(
        leader_before.is_some(),
        "the runner leads before the restart"
    );
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .args(["-c", &restart])
            .status()
            .expect("run the restart command")
    })
    .await
    .unwrap();
    assert!(status.success(), "restart command failed: {status}");
    let written = writer.await.unwrap();

    model.wait_for(&store, written.len()).await;
    let twice = model
        .counts(&store)
        .await
        .values()
        .filter(|&&n| n > 1)
        .count();
    assert_eq!(twice, 0, "events applied more than once");
    assert_eq!(model.applied(&store).await, written);
    tokio::time::timeout(GIVE_UP, ready.wait_for(|c| *c))
        .await
        .expect("the runner reports it is caught up")
        .unwrap();
    assert!(!task.is_finished(), "the runner survived the restart");
    // It lost its lease with its session and took it again on a new one.
    let leader_after = lease_holder(&store, &consumer).await;
    assert!(leader_after.is_some() && leader_after != leader_before);
    task.abort();
}
