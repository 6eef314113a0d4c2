//! Appending to one aggregate and to several, inside and outside the caller's transaction.

use crate::common;

use angzarr_store_client::{
    AggregateId, Append, Error, EventStore, Expected, NewEvent, ReadStream,
};
use futures_util::TryStreamExt;
use uuid::Uuid;

fn ev(t: &str, p: &str) -> NewEvent {
    NewEvent::new(t, p.as_bytes().to_vec())
}

async fn read_all(
    store: &EventStore,
    domain: &str,
    root: Uuid,
) -> Vec<angzarr_store_client::RecordedEvent> {
    store
        .read_stream(
            store.pool(),
            ReadStream::new(AggregateId::new(domain, root)),
        )
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn append_assigns_gap_free_sequences_and_checks_expectations() {
    let store = common::store().await;
    let domain = common::domain("acct");
    let root = Uuid::new_v4();

    let first = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::New)
                .events([ev("A", "1"), ev("B", "2")]),
        )
        .await
        .unwrap();
    assert_eq!((first.first_sequence, first.last_sequence), (0, 1));
    assert_eq!(first.next_sequence(), 2);

    let next = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::Next(2)).event(ev("C", "3")),
        )
        .await
        .unwrap();
    assert_eq!((next.first_sequence, next.last_sequence), (2, 2));

    let any = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::Any).event(ev("D", "4")),
        )
        .await
        .unwrap();
    assert_eq!(any.first_sequence, 3);

    // "must be new" on an aggregate that exists
    let err = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::New).event(ev("X", "")),
        )
        .await
        .unwrap_err();
    match err {
        Error::SequenceConflict {
            domain: d,
            edition,
            root: r,
            expected,
            actual,
        } => {
            assert_eq!(
                (d.as_str(), edition.as_str(), r),
                (domain.as_str(), "angzarr", root)
            );
            assert_eq!((expected, actual), (0, 4));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // stale expectation
    let err = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::Next(2)).event(ev("X", "")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SequenceConflict {
                expected: 2,
                actual: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.sqlstate().as_deref(), Some("ZA001"));

    let events = read_all(&store, &domain, root).await;
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["A", "B", "C", "D"]);
    assert_eq!(events[2].payload, b"3");
    assert!(events
        .iter()
        .enumerate()
        .all(|(i, e)| e.sequence == i as i64 && e.root == root && e.domain == domain));
}

#[tokio::test]
async fn correlation_and_idempotency_keys() {
    let store = common::store().await;
    let domain = common::domain("idem");
    let root = Uuid::new_v4();
    let append = Append::new(AggregateId::new(&domain, root), Expected::Any)
        .correlation_id("process-1")
        .idempotency_key("command-1")
        .events([ev("A", "1"), ev("B", "2")]);
    let once = store.append(store.pool(), &append).await.unwrap();
    let again = store.append(store.pool(), &append).await.unwrap();
    assert_eq!(once, again);
    let events = read_all(&store, &domain, root).await;
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|e| e.correlation_id.as_deref() == Some("process-1")));
}

#[tokio::test]
async fn bad_arguments_are_invalid_argument_errors() {
    let store = common::store().await;
    let root = Uuid::new_v4();
    let empty = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(common::domain("bad"), root), Expected::Any),
        )
        .await
        .unwrap_err();
    assert!(matches!(empty, Error::InvalidArgument { .. }), "{empty:?}");
    let slash = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new("a/b", root), Expected::Any).event(ev("A", "")),
        )
        .await
        .unwrap_err();
    assert!(matches!(slash, Error::InvalidArgument { .. }), "{slash:?}");
    assert!(!slash.is_retryable());
}

#[tokio::test]
async fn append_joins_the_callers_transaction() {
    let store = common::store().await;
    let domain = common::domain("tx");
    let root = Uuid::new_v4();

    let mut tx = store.pool().begin().await.unwrap();
    store
        .append(
            &mut *tx,
            &Append::new(AggregateId::new(&domain, root), Expected::New).event(ev("A", "")),
        )
        .await
        .unwrap();
    store
        .append(
            &mut *tx,
            &Append::new(AggregateId::new(&domain, root), Expected::Next(1)).event(ev("B", "")),
        )
        .await
        .unwrap();
    // Not visible outside before commit, and undone by rollback.
    assert!(read_all(&store, &domain, root).await.is_empty());
    tx.rollback().await.unwrap();
    assert!(read_all(&store, &domain, root).await.is_empty());

    let mut tx = store.pool().begin().await.unwrap();
    store
        .append(
            &mut tx,
            &Append::new(AggregateId::new(&domain, root), Expected::New).event(ev("A", "")),
        )
        .await
        .unwrap();
    let inside: Vec<_> = store
        .read_stream(&mut *tx, ReadStream::new(AggregateId::new(&domain, root)))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(inside.len(), 1);
    tx.commit().await.unwrap();
    assert_eq!(read_all(&store, &domain, root).await.len(), 1);
}

#[tokio::test]
async fn append_many_is_atomic_across_aggregates() {
    let store = common::store().await;
    let domain = common::domain("multi");
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, a), Expected::Any).event(ev("Opened", "")),
        )
        .await
        .unwrap();

    let out = store
        .append_many(
            store.pool(),
            &[
                Append::new(AggregateId::new(&domain, c), Expected::New)
                    .events([ev("X", "1"), ev("Y", "2")]),
                Append::new(AggregateId::new(&domain, a), Expected::Next(1))
                    .correlation_id("t-1")
                    .event(ev("Withdrawn", "5")),
                Append::new(AggregateId::new(&domain, b), Expected::Any)
                    .event(ev("Deposited", "5")),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        out.iter()
            .map(|o| (o.first_sequence, o.last_sequence))
            .collect::<Vec<_>>(),
        [(0, 1), (1, 1), (0, 0)]
    );
    let a_events = read_all(&store, &domain, a).await;
    assert_eq!(a_events[1].correlation_id.as_deref(), Some("t-1"));

    // One stale expectation fails the whole batch: nothing of it lands.
    let err = store
        .append_many(
            store.pool(),
            &[
                Append::new(AggregateId::new(&domain, b), Expected::Next(1))
                    .event(ev("Deposited", "1")),
                Append::new(AggregateId::new(&domain, a), Expected::Next(1))
                    .event(ev("Withdrawn", "1")),
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::SequenceConflict { expected: 1, actual: 2, root, .. } if root == a),
        "{err:?}"
    );
    assert_eq!(read_all(&store, &domain, b).await.len(), 1);
    assert_eq!(read_all(&store, &domain, a).await.len(), 2);

    // In the caller's transaction: rolled back with it.
    let mut tx = store.pool().begin().await.unwrap();
    store
        .append_many(
            &mut *tx,
            &[Append::new(AggregateId::new(&domain, b), Expected::Next(1))
                .event(ev("Deposited", "1"))],
        )
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(read_all(&store, &domain, b).await.len(), 1);

    // Refused up front.
    let dup = store
        .append_many(
            store.pool(),
            &[
                Append::new(AggregateId::new(&domain, a), Expected::Any).event(ev("A", "")),
                Append::new(AggregateId::new(&domain, a), Expected::Any).event(ev("B", "")),
            ],
        )
        .await
        .unwrap_err();
    assert!(matches!(dup, Error::InvalidArgument { .. }));
    assert!(store
        .append_many(store.pool(), &[])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_conflict_inside_the_callers_transaction_leaves_it_usable() {
    let store = common::store().await;
    let domain = common::domain("savepoint");
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, a), Expected::Any).event(ev("A", "")),
        )
        .await
        .unwrap();

    let mut tx = store.pool().begin().await.unwrap();
    let err = store
        .append_many(
            &mut *tx,
            &[Append::new(AggregateId::new(&domain, a), Expected::New).event(ev("B", ""))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SequenceConflict { .. }));
    // append_many ran in a savepoint, so the transaction goes on.
    store
        .append(
            &mut *tx,
            &Append::new(AggregateId::new(&domain, b), Expected::Any).event(ev("C", "")),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read_all(&store, &domain, b).await.len(), 1);
}

#[tokio::test]
async fn transactional_calls_work_inside_spawned_tasks() {
    // The futures are Send with a caller's transaction too, so they can run on any worker.
    let store = common::store().await;
    let domain = common::domain("spawn");
    let root = Uuid::new_v4();
    let task = {
        let (store, domain) = (store.clone(), domain.clone());
        tokio::spawn(async move {
            let mut tx = store.pool().begin().await?;
            store
                .append(
                    &mut *tx,
                    &Append::new(AggregateId::new(&domain, root), Expected::New).event(ev("A", "")),
                )
                .await?;
            store
                .append_many(
                    &mut tx,
                    &[Append::new(AggregateId::new(&domain, root), Expected::Any)
                        .event(ev("B", ""))],
                )
                .await?;
            store
                .save_position(&mut *tx, "spawned", &AggregateId::new(&domain, root), 1)
                .await?;
            tx.commit().await?;
            Ok::<_, Error>(())
        })
    };
    task.await.unwrap().unwrap();
    assert_eq!(read_all(&store, &domain, root).await.len(), 2);
}
