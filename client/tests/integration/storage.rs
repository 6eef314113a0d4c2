//! The rest of the storage contract through the client: discovery, positions, snapshots,
//! loading, editions, correlation and EventBooks.

use crate::common;

use std::collections::BTreeMap;

use angzarr_store_client::proto::EventBook;
use angzarr_store_client::{
    AggregateId, Append, Error, Expected, NewEdition, NewEvent, PutSnapshot, ResetScope, Retention,
    Snapshots, SQLSTATE_PROTECTED_EDITION,
};
use uuid::Uuid;

fn json(t: &str, v: i64) -> NewEvent {
    NewEvent::json(t, &v).unwrap()
}

#[tokio::test]
async fn discovery_lists_domains_roots_and_next_sequences() {
    let store = common::store().await;
    let domain = common::domain("disc");
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(
        store
            .next_sequence(store.pool(), &AggregateId::new(&domain, a))
            .await
            .unwrap(),
        0
    );
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, a), Expected::Any).events([
                json("A", 1),
                json("B", 2),
                json("C", 3),
            ]),
        )
        .await
        .unwrap();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, b), Expected::Any).event(json("A", 1)),
        )
        .await
        .unwrap();

    assert!(store
        .list_domains(store.pool())
        .await
        .unwrap()
        .contains(&domain));
    let mut roots = vec![a, b];
    roots.sort();
    assert_eq!(
        store.list_roots(store.pool(), &domain, None).await.unwrap(),
        roots
    );
    assert_eq!(
        store
            .next_sequence(store.pool(), &AggregateId::new(&domain, a))
            .await
            .unwrap(),
        3
    );

    let key = store
        .aggregate_lock_key(store.pool(), &AggregateId::new(&domain, a))
        .await
        .unwrap();
    assert_eq!(
        key,
        store
            .aggregate_lock_key(
                store.pool(),
                &AggregateId::new(&domain, a).in_edition("angzarr")
            )
            .await
            .unwrap()
    );
    assert_ne!(
        key,
        store
            .aggregate_lock_key(store.pool(), &AggregateId::new(&domain, b))
            .await
            .unwrap()
    );

    let shown = store
        .show_stream(store.pool(), &AggregateId::new(&domain, a))
        .await
        .unwrap();
    assert_eq!(
        (shown[2].payload.as_str(), shown[2].stored_in.as_str()),
        ("3", "angzarr")
    );
}

#[tokio::test]
async fn history_as_of_a_sequence_or_a_time() {
    let store = common::store().await;
    let domain = common::domain("asof");
    let a = Uuid::new_v4();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, a), Expected::Any).events([
                json("A", 1),
                json("B", 2),
                json("C", 3),
            ]),
        )
        .await
        .unwrap();
    let as_of = store
        .read_as_of_sequence(store.pool(), &AggregateId::new(&domain, a), 1)
        .await
        .unwrap();
    assert_eq!(as_of.iter().map(|e| e.sequence).collect::<Vec<_>>(), [0, 1]);
    let later = store
        .read_as_of_time(
            store.pool(),
            &AggregateId::new(&domain, a),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(later.len(), 3);
    let before = store
        .read_as_of_time(
            store.pool(),
            &AggregateId::new(&domain, a),
            chrono::Utc::now() - chrono::TimeDelta::hours(1),
        )
        .await
        .unwrap();
    assert!(before.is_empty());
}

#[tokio::test]
async fn positions_only_move_forward_until_reset() {
    let store = common::store().await;
    let domain = common::domain("pos");
    let root = Uuid::new_v4();
    let handler = format!("projector-{}", Uuid::new_v4().simple());
    assert_eq!(
        store
            .get_position(store.pool(), &handler, &AggregateId::new(&domain, root))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .save_position(store.pool(), &handler, &AggregateId::new(&domain, root), 0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .save_position(store.pool(), &handler, &AggregateId::new(&domain, root), 5)
            .await
            .unwrap(),
        5
    );
    // A late, lower acknowledgement changes nothing.
    assert_eq!(
        store
            .save_position(store.pool(), &handler, &AggregateId::new(&domain, root), 3)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        store
            .get_position(store.pool(), &handler, &AggregateId::new(&domain, root))
            .await
            .unwrap(),
        Some(5)
    );

    // In the caller's transaction: rolled back with it.
    let mut tx = store.pool().begin().await.unwrap();
    store
        .save_position(&mut *tx, &handler, &AggregateId::new(&domain, root), 9)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        store
            .get_position(store.pool(), &handler, &AggregateId::new(&domain, root))
            .await
            .unwrap(),
        Some(5)
    );

    assert_eq!(
        store
            .reset_positions(store.pool(), &handler, ResetScope::Domain(&domain))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .get_position(store.pool(), &handler, &AggregateId::new(&domain, root))
            .await
            .unwrap(),
        None
    );
    let err = store
        .save_position(store.pool(), "", &AggregateId::new(&domain, root), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[tokio::test]
async fn snapshots_and_loading_replay_only_what_follows_the_snapshot() {
    let store = common::store().await;
    let domain = common::domain("snap");
    let root = Uuid::new_v4();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::Any)
                .events((0..5).map(|i| json("Added", i))),
        )
        .await
        .unwrap();

    let empty = store
        .load_aggregate(
            store.pool(),
            &AggregateId::new(&domain, Uuid::new_v4()),
            Snapshots::Use,
        )
        .await
        .unwrap();
    assert_eq!(
        (empty.next_sequence(), empty.expected()),
        (0, Expected::New)
    );

    let beyond = store
        .put_snapshot(
            store.pool(),
            &PutSnapshot::json(AggregateId::new(&domain, root), 5, &99).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(beyond, Error::SnapshotBeyondHead { .. }),
        "{beyond:?}"
    );

    // State after events 0..=2 is 0+1+2 = 3.
    let put = store
        .put_snapshot(
            store.pool(),
            &PutSnapshot::json(AggregateId::new(&domain, root), 2, &3i64)
                .unwrap()
                .retention(Retention::Persist),
        )
        .await
        .unwrap();
    assert_eq!((put.stored, put.removed), (true, 0));
    let snap = store
        .get_snapshot(store.pool(), &AggregateId::new(&domain, root), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (snap.sequence, snap.retention, snap.json::<i64>().unwrap()),
        (2, Retention::Persist, 3)
    );
    assert!(store
        .get_snapshot(store.pool(), &AggregateId::new(&domain, root), Some(1))
        .await
        .unwrap()
        .is_none());

    let loaded = store
        .load_aggregate(
            store.pool(),
            &AggregateId::new(&domain, root),
            Snapshots::Use,
        )
        .await
        .unwrap();
    assert_eq!(loaded.snapshot.as_ref().map(|s| s.sequence), Some(2));
    assert_eq!(
        loaded.events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [3, 4]
    );
    let total: i64 = loaded.snapshot.as_ref().unwrap().json::<i64>().unwrap()
        + loaded
            .events
            .iter()
            .map(|e| e.json::<i64>().unwrap())
            .sum::<i64>();
    assert_eq!(total, 10);
    assert_eq!(loaded.expected(), Expected::Next(5));

    let full = store
        .load_aggregate(
            store.pool(),
            &AggregateId::new(&domain, root),
            Snapshots::Ignore,
        )
        .await
        .unwrap();
    assert!(full.snapshot.is_none());
    assert_eq!(full.events.len(), 5);

    // Protobuf state, typed.
    let stamp = prost_types::Timestamp {
        seconds: 7,
        nanos: 0,
    };
    let transient = PutSnapshot::json(AggregateId::new(&domain, root), 3, &6i64)
        .unwrap()
        .retention(Retention::Transient);
    store.put_snapshot(store.pool(), &transient).await.unwrap();
    // The newer default snapshot supersedes the transient one, not the persisted one.
    let put = store
        .put_snapshot(
            store.pool(),
            &PutSnapshot::message(AggregateId::new(&domain, root), 4, &stamp),
        )
        .await
        .unwrap();
    assert_eq!((put.stored, put.removed), (true, 1));
    // An older default snapshot in the same 16-event window is superseded on arrival.
    let late = store
        .put_snapshot(
            store.pool(),
            &PutSnapshot::json(AggregateId::new(&domain, root), 1, &1i64).unwrap(),
        )
        .await
        .unwrap();
    assert!(!late.stored);
    let snap = store
        .get_snapshot(store.pool(), &AggregateId::new(&domain, root), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.message::<prost_types::Timestamp>().unwrap(), stamp);
    assert!(matches!(
        snap.message::<prost_types::Duration>(),
        Err(Error::TypeMismatch { .. })
    ));

    assert_eq!(
        store
            .delete_snapshots(store.pool(), &AggregateId::new(&domain, root))
            .await
            .unwrap(),
        2
    );
    assert!(store
        .get_snapshot(store.pool(), &AggregateId::new(&domain, root), None)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn editions_are_created_listed_and_discarded() {
    let store = common::store().await;
    let domain = common::domain("ed");
    let root = Uuid::new_v4();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::Any)
                .events((0..4).map(|i| json("Main", i))),
        )
        .await
        .unwrap();
    let name = format!("what-if-{}", Uuid::new_v4().simple());
    let divergences: BTreeMap<String, i64> = [(domain.clone(), 2)].into_iter().collect();
    store
        .create_edition(
            store.pool(),
            &NewEdition {
                divergences: divergences.clone(),
                ..NewEdition::named(&name)
            },
        )
        .await
        .unwrap();
    // Naming the edition again adds nothing; moving an existing divergence point is refused.
    store
        .create_edition(store.pool(), &NewEdition::named(&name))
        .await
        .unwrap();
    let moved: BTreeMap<String, i64> = [(domain.clone(), 3)].into_iter().collect();
    let again = store
        .create_edition(
            store.pool(),
            &NewEdition {
                divergences: moved,
                ..NewEdition::named(&name)
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(again, Error::AlreadyExists { .. }), "{again:?}");
    let main = store
        .create_edition(store.pool(), &NewEdition::named("angzarr"))
        .await
        .unwrap_err();
    assert!(matches!(main, Error::ProtectedEdition { .. }), "{main:?}");
    assert_eq!(main.sqlstate().as_deref(), Some(SQLSTATE_PROTECTED_EDITION));

    // The edition shares main's events 0..=1 and continues at 2.
    assert_eq!(
        store
            .next_sequence(
                store.pool(),
                &AggregateId::new(&domain, root).in_edition(&name)
            )
            .await
            .unwrap(),
        2
    );
    let own = store
        .append(
            store.pool(),
            &Append::new(
                AggregateId::new(&domain, root).in_edition(&name),
                Expected::Next(2),
            )
            .event(json("Alt", 9)),
        )
        .await
        .unwrap();
    assert_eq!(own.first_sequence, 2);
    let listed = store.list_editions(store.pool()).await.unwrap();
    let info = listed
        .iter()
        .find(|e| e.name == name)
        .expect("edition listed");
    assert!(info.created);
    assert_eq!(
        (info.divergences.get(&domain), info.event_count),
        (Some(&2), 1)
    );

    assert_eq!(store.discard_edition(store.pool(), &name).await.unwrap(), 1);
    assert!(store
        .list_editions(store.pool())
        .await
        .unwrap()
        .iter()
        .all(|e| e.name != name));
    assert!(matches!(
        store.discard_edition(store.pool(), "").await,
        Err(Error::ProtectedEdition { .. })
    ));
}

#[tokio::test]
async fn correlation_queries_span_aggregates() {
    let store = common::store().await;
    let (d1, d2) = (common::domain("corr"), common::domain("corr"));
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let process = format!("process-{}", Uuid::new_v4());
    store
        .append_many(
            store.pool(),
            &[
                Append::new(AggregateId::new(&d1, a), Expected::Any)
                    .correlation_id(&process)
                    .events([json("A", 1), json("B", 2)]),
                Append::new(AggregateId::new(&d2, b), Expected::Any)
                    .correlation_id(&process)
                    .event(json("C", 3)),
            ],
        )
        .await
        .unwrap();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&d1, a), Expected::Any).event(json("Unrelated", 0)),
        )
        .await
        .unwrap();

    let events = store
        .read_correlation(store.pool(), &process)
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
    assert!(events
        .iter()
        .all(|e| e.correlation_id.as_deref() == Some(process.as_str())));
    let books = store
        .read_correlation_books(store.pool(), &process)
        .await
        .unwrap();
    assert_eq!(books.len(), 2);
    assert_eq!(books.iter().map(|b| b.pages.len()).sum::<usize>(), 3);
    assert!(store
        .read_correlation(store.pool(), "")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn event_books_round_trip() {
    let store = common::store().await;
    let domain = common::domain("book");
    let root = Uuid::new_v4();
    let stamp = prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 5,
    };
    let book = Append::new(AggregateId::new(&domain, root), Expected::New)
        .correlation_id("saga-1")
        .events([
            NewEvent::message(&stamp).unwrap(),
            NewEvent::json("Noted", &"hi").unwrap(),
        ])
        .to_event_book();
    let appended = store
        .append_event_book(store.pool(), &book, Some("book-1"))
        .await
        .unwrap();
    assert_eq!((appended.first_sequence, appended.last_sequence), (0, 1));
    // Idempotent under its key; a stale header sequence is a conflict.
    assert_eq!(
        store
            .append_event_book(store.pool(), &book, Some("book-1"))
            .await
            .unwrap(),
        appended
    );
    let stale = store
        .append_event_book(store.pool(), &book, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            Error::SequenceConflict {
                expected: 0,
                actual: 2,
                ..
            }
        ),
        "{stale:?}"
    );

    let read: EventBook = store
        .read_event_book(
            store.pool(),
            &AggregateId::new(&domain, root),
            Snapshots::Use,
        )
        .await
        .unwrap();
    assert_eq!(read.next_sequence, 2);
    assert_eq!(angzarr_store_client::cover_root(&read).unwrap(), root);
    let first = NewEvent::from_event_page(&read.pages[0]).unwrap();
    assert_eq!(
        first.event_type,
        "type.googleapis.com/google.protobuf.Timestamp"
    );

    let events: Vec<_> = futures_util::TryStreamExt::try_collect(store.read_stream(
        store.pool(),
        angzarr_store_client::ReadStream::new(AggregateId::new(&domain, root)),
    ))
    .await
    .unwrap();
    let events: Vec<angzarr_store_client::RecordedEvent> = events;
    assert_eq!(
        events[0].message::<prost_types::Timestamp>().unwrap(),
        stamp
    );
    assert_eq!(events[1].json::<String>().unwrap(), "hi");
    assert_eq!(events[0].correlation_id.as_deref(), Some("saga-1"));
    assert_eq!(events[0].to_event_page().event, read.pages[0].event);

    let shown = store.event_book_to_json(store.pool(), &read).await.unwrap();
    assert_eq!(shown["next_sequence"], 2, "{shown}");

    let garbage = sqlx::query_scalar::<_, Vec<u8>>("SELECT angzarr.read_event_book($1, $2)")
        .bind(&domain)
        .bind(root)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(!garbage.is_empty());
}

#[tokio::test]
async fn the_integrity_check_finds_nothing_wrong_with_client_writes() {
    let store = common::store().await;
    let domain = common::domain("intact");
    let root = Uuid::new_v4();
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::Any)
                .events((0..3).map(|i| json("A", i))),
        )
        .await
        .unwrap();
    let problems = store.check_integrity(store.pool()).await.unwrap();
    let ours: Vec<_> = problems
        .iter()
        .filter(|p| p.domain.as_deref() == Some(domain.as_str()))
        .collect();
    assert!(ours.is_empty(), "{ours:?}");
}
