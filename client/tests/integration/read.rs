//! Reading one aggregate as a paged stream, with ranges, limits and editions.

use crate::common;

use angzarr_store_client::{
    AggregateId, Append, EventStore, Expected, NewEdition, NewEvent, ReadStream, RecordedEvent,
};
use futures_util::TryStreamExt;
use uuid::Uuid;

async fn small_pages() -> EventStore {
    EventStore::builder()
        .with_page_size(3)
        .with_max_connections(4)
        .connect(&common::database_url())
        .await
        .unwrap()
}

async fn seed(store: &EventStore, domain: &str, root: Uuid, n: usize) {
    let events = (0..n).map(|i| NewEvent::new(format!("E{i}"), i.to_string().into_bytes()));
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(domain, root), Expected::New).events(events),
        )
        .await
        .unwrap();
}

async fn sequences(store: &EventStore, q: ReadStream) -> Vec<i64> {
    let events: Vec<RecordedEvent> = store
        .read_stream(store.pool(), q)
        .try_collect()
        .await
        .unwrap();
    events.iter().map(|e| e.sequence).collect()
}

#[tokio::test]
async fn pages_cover_ranges_and_limits_exactly() {
    let store = small_pages().await;
    let domain = common::domain("read");
    let root = Uuid::new_v4();
    seed(&store, &domain, root, 10).await;

    assert_eq!(
        sequences(&store, ReadStream::new(AggregateId::new(&domain, root))).await,
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(
        sequences(
            &store,
            ReadStream::new(AggregateId::new(&domain, root))
                .from(2)
                .to(8)
        )
        .await,
        (2..8).collect::<Vec<_>>()
    );
    assert_eq!(
        sequences(
            &store,
            ReadStream::new(AggregateId::new(&domain, root))
                .from(4)
                .max_count(4)
        )
        .await,
        [4, 5, 6, 7]
    );
    assert_eq!(
        sequences(
            &store,
            ReadStream::new(AggregateId::new(&domain, root)).max_count(3)
        )
        .await,
        [0, 1, 2]
    );
    assert_eq!(
        sequences(
            &store,
            ReadStream::new(AggregateId::new(&domain, root)).max_count(0)
        )
        .await,
        Vec::<i64>::new()
    );
    assert!(sequences(
        &store,
        ReadStream::new(AggregateId::new(&domain, Uuid::new_v4()))
    )
    .await
    .is_empty());

    let events: Vec<RecordedEvent> = store
        .read_stream(
            store.pool(),
            ReadStream::new(AggregateId::new(&domain, root)).from(9),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (
            e.event_type.as_str(),
            e.payload.as_slice(),
            e.edition.as_str()
        ),
        ("E9", &b"9"[..], "angzarr")
    );
    assert!(e.global_position > 0);
}

#[tokio::test]
async fn a_bad_range_is_an_error_item() {
    let store = small_pages().await;
    let err = store
        .read_stream(
            store.pool(),
            ReadStream::new(AggregateId::new("x", Uuid::new_v4())).from(-1),
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(err, angzarr_store_client::Error::InvalidArgument { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_named_edition_reads_main_history_then_its_own() {
    let store = small_pages().await;
    let domain = common::domain("edition");
    let root = Uuid::new_v4();
    seed(&store, &domain, root, 4).await;
    let edition = format!("what-if-{}", Uuid::new_v4().simple());
    let divergence: std::collections::BTreeMap<String, i64> =
        [(domain.clone(), 4)].into_iter().collect();
    store
        .create_edition(
            store.pool(),
            &NewEdition {
                divergences: divergence.clone(),
                ..NewEdition::named(&edition)
            },
        )
        .await
        .unwrap();

    // The edition continues main's history: its first own event gets sequence 4.
    let own = store
        .append(
            store.pool(),
            &Append::new(
                AggregateId::new(&domain, root).in_edition(&edition),
                Expected::Next(4),
            )
            .event(NewEvent::new("Alt", Vec::new())),
        )
        .await
        .unwrap();
    assert_eq!(own.first_sequence, 4);
    // Main moves on independently.
    store
        .append(
            store.pool(),
            &Append::new(AggregateId::new(&domain, root), Expected::Next(4))
                .event(NewEvent::new("Main", Vec::new())),
        )
        .await
        .unwrap();

    let events: Vec<RecordedEvent> = store
        .read_stream(
            store.pool(),
            ReadStream::new(AggregateId::new(&domain, root).in_edition(&edition)),
        )
        .try_collect()
        .await
        .unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.sequence, e.edition.as_str(), e.event_type.as_str()))
        .collect();
    assert_eq!(
        &seen[3..],
        [(3, "angzarr", "E3"), (4, edition.as_str(), "Alt")]
    );
    let main: Vec<RecordedEvent> = store
        .read_stream(
            store.pool(),
            ReadStream::new(AggregateId::new(&domain, root)),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(main.last().map(|e| e.event_type.as_str()), Some("Main"));
}

#[tokio::test]
async fn dropping_a_stream_early_returns_its_connection() {
    let store = EventStore::builder()
        .with_page_size(2)
        .with_max_connections(1)
        .connect(&common::database_url())
        .await
        .unwrap();
    let domain = common::domain("drop");
    let root = Uuid::new_v4();
    seed(&store, &domain, root, 6).await;
    for _ in 0..3 {
        let mut s = store.read_stream(
            store.pool(),
            ReadStream::new(AggregateId::new(&domain, root)),
        );
        assert_eq!(s.try_next().await.unwrap().map(|e| e.sequence), Some(0));
        drop(s);
    }
    // With one connection in the pool, this only works if every dropped stream gave it back.
    assert_eq!(
        sequences(&store, ReadStream::new(AggregateId::new(&domain, root)))
            .await
            .len(),
        6
    );
}
