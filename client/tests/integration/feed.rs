//! The global feed: pages in commit order, consumer groups, saved checkpoints, and tails woken
//! by NOTIFY or by polling.

use crate::common;

use std::time::Duration;

use angzarr_store_client::{
    AggregateId, Append, Checkpoint, CheckpointSaved, EventStore, Expected, FeedEvent, FeedQuery,
    NewEvent,
};
use futures_util::{StreamExt, TryStreamExt};
use uuid::Uuid;

/// A safety net so a broken tail fails the test instead of hanging it; not a performance bound.
const GIVE_UP: Duration = Duration::from_secs(60);

/// Reads `query` in pages of `page_size` until `want` events came back. The feed only shows
/// events below the cluster's oldest running transaction, so a commit can take a moment (any
/// other session's open transaction) to become visible: empty pages are read again.
async fn read_until(
    store: &EventStore,
    mut query: FeedQuery,
    page_size: i64,
    want: usize,
) -> Vec<FeedEvent> {
    let deadline = tokio::time::Instant::now() + GIVE_UP;
    let mut seen = Vec::new();
    while seen.len() < want {
        let page = store
            .read_feed(store.pool(), &query, page_size)
            .await
            .unwrap();
        assert!(page.len() as i64 <= page_size);
        match page.last() {
            Some(last) => query.after = last.checkpoint,
            None => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "only {} of {want} events became visible",
                    seen.len()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        seen.extend(page);
    }
    seen
}

fn ev(t: &str) -> NewEvent {
    NewEvent::new(t, t.as_bytes().to_vec())
}

#[tokio::test]
async fn pages_resume_from_checkpoints_in_commit_order() {
    let store = common::store().await;
    let domain = common::domain("feed");
    let start = store.feed_horizon(store.pool()).await.unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, a), Expected::Any).events([ev("a0"), ev("a1")]),
        )
        .await
        .unwrap();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, b), Expected::Any).event(ev("b0")),
        )
        .await
        .unwrap();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, a), Expected::Any).event(ev("a2")),
        )
        .await
        .unwrap();

    let query = FeedQuery::new().after(start).domains([domain.clone()]);
    let seen: Vec<_> = read_until(&store, query.clone(), 2, 4)
        .await
        .into_iter()
        .map(|e| (e.checkpoint, e.event.event_type, e.event.root))
        .collect();
    // Nothing more than what was written.
    let after = FeedQuery {
        after: seen[3].0,
        ..query
    };
    assert!(store
        .read_feed(store.pool(), &after, 10)
        .await
        .unwrap()
        .is_empty());
    let types: Vec<_> = seen.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(types, ["a0", "a1", "b0", "a2"]);
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "checkpoints must increase"
    );
    assert_eq!(seen[2].2, b);

    let only_b0 = store
        .read_feed(
            store.pool(),
            &FeedQuery::new()
                .after(start)
                .domains([domain.clone()])
                .event_types(["b0"]),
            10,
        )
        .await
        .unwrap();
    assert_eq!(only_b0.len(), 1);
    let err = store
        .read_feed(store.pool(), &FeedQuery::new().member(3, 2), 10)
        .await
        .unwrap_err();
    assert!(
        matches!(err, angzarr_store_client::Error::InvalidArgument { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn consumer_group_members_split_the_feed_by_aggregate() {
    let store = common::store().await;
    let domain = common::domain("group");
    let start = store.feed_horizon(store.pool()).await.unwrap();
    let roots: Vec<Uuid> = (0..12).map(|_| Uuid::new_v4()).collect();
    for r in &roots {
        store
            .append(
                store.pool(),
                &Append::new(AggregateId::new(&domain, *r), Expected::Any)
                    .events([ev("x"), ev("y")]),
            )
            .await
            .unwrap();
    }
    // Each member reads its own share; together they see every event exactly once.
    let mut all = Vec::new();
    let mut checkpoints = [start; 3];
    let deadline = tokio::time::Instant::now() + GIVE_UP;
    while all.len() < 24 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of 24 events became visible",
            all.len()
        );
        for member in 0..3 {
            let q = FeedQuery::new()
                .after(checkpoints[member as usize])
                .domains([domain.clone()])
                .member(member, 3);
            for e in store.read_feed(store.pool(), &q, 1000).await.unwrap() {
                let expected = store
                    .feed_member(store.pool(), &AggregateId::new(&domain, e.event.root), 3)
                    .await
                    .unwrap();
                assert_eq!(expected, member);
                checkpoints[member as usize] = e.checkpoint;
                all.push((e.event.root, e.event.sequence));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    all.sort();
    let mut want: Vec<_> = roots.iter().flat_map(|r| [(*r, 0), (*r, 1)]).collect();
    want.sort();
    assert_eq!(all, want);
}

#[tokio::test]
async fn feed_positions_only_move_forward() {
    let store = common::store().await;
    let consumer = format!("consumer-{}", Uuid::new_v4().simple());
    let fresh = store
        .get_feed_position(store.pool(), &consumer)
        .await
        .unwrap();
    assert_eq!(
        (fresh.checkpoint, fresh.updated_at),
        (Checkpoint::default(), None)
    );
    let at = Checkpoint {
        feed_tx: 10,
        global_position: 5,
    };
    assert_eq!(
        store
            .save_feed_position(store.pool(), &consumer, at)
            .await
            .unwrap(),
        CheckpointSaved::Moved
    );
    assert!(!store
        .save_feed_position(
            store.pool(),
            &consumer,
            Checkpoint {
                feed_tx: 9,
                global_position: 99
            }
        )
        .await
        .unwrap()
        .moved());
    let saved = store
        .get_feed_position(store.pool(), &consumer)
        .await
        .unwrap();
    assert_eq!(saved.checkpoint, at);
    assert!(saved.updated_at.is_some());

    let lag = store.feed_lag(store.pool()).await.unwrap();
    assert!(lag.horizon_feed_tx > 0 && lag.held_back_events >= 0);
}

async fn collect_tail(store: &EventStore, query: FeedQuery, n: usize) -> Vec<FeedEvent> {
    let tail = store.tail_feed(query);
    tokio::time::timeout(GIVE_UP, tail.take(n).try_collect::<Vec<_>>())
        .await
        .expect("the tail did not deliver every event")
        .unwrap()
}

async fn write_slowly(store: EventStore, domain: String, roots: Vec<Uuid>) {
    for (i, r) in roots.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(30)).await;
        store
            .append(
                store.pool(),
                &Append::new(AggregateId::new(&domain, *r), Expected::Any)
                    .event(ev(&format!("e{i}"))),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_tail_is_woken_by_notify() {
    // Polls once an hour: the tail only gets the events in time if NOTIFY wakes it.
    let reader = EventStore::builder()
        .with_feed_poll_interval(Duration::from_secs(3600))
        .connect(&common::database_url())
        .await
        .unwrap();
    let writer = common::store().await; // with_notify(true) is the builder's default
    let domain = common::domain("tail");
    let start = reader.feed_horizon(reader.pool()).await.unwrap();
    // An event before the tail starts is delivered too (catch-up, then follow).
    writer
        .append(
            writer.pool(),
            &Append::new(AggregateId::new(&domain, Uuid::new_v4()), Expected::Any)
                .event(ev("before")),
        )
        .await
        .unwrap();

    let roots: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let tail = collect_tail(
        &reader,
        FeedQuery::new().after(start).domains([domain.clone()]),
        6,
    );
    let writing = tokio::spawn(write_slowly(writer, domain.clone(), roots.clone()));
    let got = tail.await;
    writing.await.unwrap();
    let types: Vec<_> = got.iter().map(|e| e.event.event_type.as_str()).collect();
    assert_eq!(types, ["before", "e0", "e1", "e2", "e3", "e4"]);
    assert!(got.windows(2).all(|w| w[0].checkpoint < w[1].checkpoint));
}

#[tokio::test]
async fn a_tail_falls_back_to_polling_without_notify() {
    let reader = EventStore::builder()
        .with_feed_poll_interval(Duration::from_millis(100))
        .connect(&common::database_url())
        .await
        .unwrap();
    let writer = EventStore::builder()
        .with_notify(false)
        .connect(&common::database_url())
        .await
        .unwrap();
    let domain = common::domain("poll");
    let start = reader.feed_horizon(reader.pool()).await.unwrap();
    let roots: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    let tail = collect_tail(
        &reader,
        FeedQuery::new().after(start).domains([domain.clone()]),
        4,
    );
    let writing = tokio::spawn(write_slowly(writer, domain.clone(), roots.clone()));
    let got = tail.await;
    writing.await.unwrap();
    assert_eq!(got.iter().map(|e| e.event.root).collect::<Vec<_>>(), roots);
}
