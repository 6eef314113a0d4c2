//! Typed events: a serde enum and a prost enum stored and read back without a name table;
//! an unknown stored type is an error the reader can handle.

use crate::common;

use angzarr_store_client::{
    prost_events, AggregateId, Append, DomainEvent, Error, Expected, JsonEvent, NewEvent,
    ReadStream, Snapshots,
};
use futures_util::TryStreamExt;
use prost_types::{Duration, Timestamp};
use uuid::Uuid;

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Account {
    Opened { owner: String },
    Deposited { amount: i64 },
    Closed,
}
impl JsonEvent for Account {}

prost_events! {
    #[derive(Debug, PartialEq)]
    enum Timer {
        Started(Timestamp),
        Extended(Duration),
    }
}

#[tokio::test]
async fn json_and_protobuf_enums_round_trip_and_unknown_types_are_errors() {
    let store = common::store().await;
    let account = AggregateId::new(common::domain("typed"), Uuid::new_v4());
    let events = [
        Account::Opened {
            owner: "ann".into(),
        },
        Account::Deposited { amount: 7 },
        Account::Closed,
    ];
    store
        .append(
            store.pool(),
            &Append::new(account.clone(), Expected::New).events(
                events
                    .iter()
                    .map(|e| e.to_new_event())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    // Someone else's event type in the same stream.
    store
        .append(
            store.pool(),
            &Append::new(account.clone(), Expected::Next(3))
                .event(NewEvent::new("Frozen", b"{}".to_vec())),
        )
        .await
        .unwrap();
    let read: Vec<_> = store
        .read_stream(store.pool(), ReadStream::new(account.clone()))
        .try_collect()
        .await
        .unwrap();
    let decoded: Vec<_> = read.iter().map(|e| e.decode::<Account>()).collect();
    assert_eq!(decoded[0].as_ref().unwrap(), &events[0]);
    assert_eq!(decoded[1].as_ref().unwrap(), &events[1]);
    assert_eq!(decoded[2].as_ref().unwrap(), &events[2]);
    assert!(
        matches!(&decoded[3], Err(Error::UnknownEventType { event_type }) if event_type == "Frozen"),
        "{:?}",
        decoded[3]
    );
    let loaded = store
        .load_aggregate(store.pool(), &account, Snapshots::Ignore)
        .await
        .unwrap();
    assert_eq!(
        loaded.events[1].decode::<Account>().unwrap(),
        Account::Deposited { amount: 7 }
    );

    let timer = AggregateId::new(common::domain("typed_pb"), Uuid::new_v4());
    let ticks = [
        Timer::Started(Timestamp {
            seconds: 100,
            nanos: 0,
        }),
        Timer::Extended(Duration {
            seconds: 30,
            nanos: 0,
        }),
    ];
    store
        .append(
            store.pool(),
            &Append::new(timer.clone(), Expected::New)
                .events(ticks.iter().map(|e| NewEvent::from_domain(e).unwrap())),
        )
        .await
        .unwrap();
    let read: Vec<_> = store
        .read_stream(store.pool(), ReadStream::new(timer))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        read[0].event_type,
        "type.googleapis.com/google.protobuf.Timestamp"
    );
    let back: Vec<Timer> = read.iter().map(|e| e.decode().unwrap()).collect();
    assert_eq!(back, ticks);
    assert!(matches!(
        read[0].decode::<Account>(),
        Err(Error::UnknownEventType { .. })
    ));
}
