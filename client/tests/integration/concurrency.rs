//! Real concurrency through the client: racing writers on one aggregate with the retry helper,
//! and multi-aggregate appends that lock in a consistent order.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use angzarr_store_client::{
    AggregateId, Append, Error, EventStore, Expected, NewEvent, ReadStream, RecordedEvent,
    RetryPolicy,
};
use futures_util::TryStreamExt;
use uuid::Uuid;

const TASKS: usize = 16;
const COMMANDS_PER_TASK: usize = 10;

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(500)
        .with_delays(Duration::from_millis(1), Duration::from_millis(50))
}

async fn history(
    store: &EventStore,
    domain: &str,
    root: Uuid,
) -> Result<Vec<RecordedEvent>, Error> {
    store
        .read_stream(
            store.pool(),
            ReadStream::new(AggregateId::new(domain, root)),
        )
        .try_collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_writers_with_retry_end_gap_free_with_every_event() {
    let store = EventStore::builder()
        .with_max_connections(TASKS as u32 + 2)
        .connect(&common::database_url())
        .await
        .unwrap();
    let domain = common::domain("race");
    let root = Uuid::new_v4();

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (store, domain) = (store.clone(), domain.clone());
        tasks.push(tokio::spawn(async move {
            let mut retries = 0u32;
            for command in 0..COMMANDS_PER_TASK {
                let store = &store;
                let domain = &domain;
                let attempts = policy()
                    .run(|attempt| async move {
                        // Load, decide, append: the decision depends on what was loaded.
                        let seen = history(store, domain, root).await?;
                        let append = Append::new(
                            AggregateId::new(domain, root),
                            Expected::Next(seen.len() as i64),
                        )
                        .event(NewEvent::new(
                            "Incremented",
                            format!("{task}:{command}").into_bytes(),
                        ));
                        store.append(store.pool(), &append).await.map(|_| attempt)
                    })
                    .await
                    .inspect_err(|e| eprintln!("task {task} gave up: {e}"))?;
                retries += attempts - 1;
            }
            Ok::<_, Error>(retries)
        }));
    }
    let mut retries = 0;
    for t in tasks {
        retries += t.await.unwrap().unwrap();
    }
    // The writers really raced: some of them lost and retried.
    assert!(retries > 0, "no conflicts: the test did not race");
    eprintln!("{retries} retries after sequence conflicts");

    let events = history(&store, &domain, root).await.unwrap();
    assert_eq!(events.len(), TASKS * COMMANDS_PER_TASK);
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.sequence == i as i64),
        "sequences have a gap"
    );
    // Every task's commands are there, once each, in the order it issued them.
    let mut per_task: HashMap<usize, Vec<usize>> = HashMap::new();
    for e in &events {
        let text = String::from_utf8(e.payload.clone()).unwrap();
        let (task, command) = text.split_once(':').unwrap();
        per_task
            .entry(task.parse().unwrap())
            .or_default()
            .push(command.parse().unwrap());
    }
    assert_eq!(per_task.len(), TASKS);
    for (task, commands) in per_task {
        assert_eq!(
            commands,
            (0..COMMANDS_PER_TASK).collect::<Vec<_>>(),
            "task {task}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transfers_across_aggregates_neither_deadlock_nor_lose_money() {
    const ACCOUNTS: usize = 4;
    const WORKERS: usize = 8;
    const TRANSFERS: usize = 15;
    let store = EventStore::builder()
        .with_max_connections(WORKERS as u32 + 2)
        .connect(&common::database_url())
        .await
        .unwrap();
    let domain = common::domain("bank");
    let accounts: Vec<Uuid> = (0..ACCOUNTS).map(|_| Uuid::new_v4()).collect();
    for a in &accounts {
        store
            .append(
                store.pool(),
                &Append::new(AggregateId::new(&domain, *a), Expected::New)
                    .event(NewEvent::json("Deposited", &100).unwrap()),
            )
            .await
            .unwrap();
    }

    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (store, domain, accounts) = (store.clone(), domain.clone(), accounts.clone());
        tasks.push(tokio::spawn(async move {
            for t in 0..TRANSFERS {
                // Opposite directions on purpose: a writer locking in argument order would deadlock.
                let (from, to) = if (w + t) % 2 == 0 {
                    (accounts[w % ACCOUNTS], accounts[(w + 1) % ACCOUNTS])
                } else {
                    (accounts[(w + 1) % ACCOUNTS], accounts[w % ACCOUNTS])
                };
                let (store, domain) = (&store, &domain);
                policy()
                    .run(|_| async move {
                        let next_from = history(store, domain, from).await?.len() as i64;
                        let next_to = history(store, domain, to).await?.len() as i64;
                        store
                            .append_many(
                                store.pool(),
                                &[
                                    Append::new(
                                        AggregateId::new(domain, from),
                                        Expected::Next(next_from),
                                    )
                                    .event(NewEvent::json("Withdrawn", &1)?),
                                    Append::new(
                                        AggregateId::new(domain, to),
                                        Expected::Next(next_to),
                                    )
                                    .event(NewEvent::json("Deposited", &1)?),
                                ],
                            )
                            .await
                    })
                    .await?;
            }
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }

    let mut total = 0i64;
    let mut events = 0;
    for a in &accounts {
        for e in history(&store, &domain, *a).await.unwrap() {
            let amount: i64 = e.json().unwrap();
            total += if e.event_type == "Withdrawn" {
                -amount
            } else {
                amount
            };
            events += 1;
        }
    }
    assert_eq!(total, 100 * ACCOUNTS as i64);
    assert_eq!(events, ACCOUNTS + 2 * WORKERS * TRANSFERS);
}
