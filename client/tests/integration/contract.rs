//! The AggregateStore contract, run against the server and against InMemoryStore: the same
//! sequences, conflicts, idempotency and edition reads, so unit tests on the in-memory store
//! say something about production.

use crate::common;

use angzarr_store_client::{
    AggregateId, AggregateStore, Append, Error, Expected, InMemoryStore, NewEvent,
};
use uuid::Uuid;

fn ev(t: &str) -> NewEvent {
    NewEvent::new(t, t.as_bytes().to_vec())
}

fn types(loaded: &angzarr_store_client::LoadedAggregate) -> Vec<(i64, String)> {
    loaded
        .events
        .iter()
        .map(|e| (e.sequence, e.event_type.clone()))
        .collect()
}

async fn contract<S: AggregateStore>(store: &S) {
    let account = AggregateId::new(common::domain("contract"), Uuid::new_v4());

    // Sequences start at 0 and stay gap-free.
    let a = store
        .append(&Append::new(account.clone(), Expected::New).events([ev("A"), ev("B")]))
        .await
        .unwrap();
    assert_eq!((a.first_sequence, a.last_sequence), (0, 1));

    // A stale expectation is a conflict naming the aggregate and both numbers.
    let err = store
        .append(&Append::new(account.clone(), Expected::Next(1)).event(ev("X")))
        .await
        .unwrap_err();
    match err {
        Error::SequenceConflict {
            domain,
            edition,
            root,
            expected,
            actual,
        } => {
            assert_eq!(
                (domain.as_str(), edition.as_str(), root),
                (account.domain(), "angzarr", account.root())
            );
            assert_eq!((expected, actual), (1, 2));
        }
        other => panic!("{other:?}"),
    }
    let err = store
        .append(&Append::new(account.clone(), Expected::New).event(ev("X")))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::SequenceConflict {
            expected: 0,
            actual: 2,
            ..
        }
    ));

    // Idempotency: a repeat returns the first range and writes nothing, even when its
    // expectation is stale by now.
    let keyed = Append::new(account.clone(), Expected::Next(2))
        .idempotency_key("cmd-1")
        .events([ev("C"), ev("D")]);
    let first = store.append(&keyed).await.unwrap();
    let again = store.append(&keyed).await.unwrap();
    assert_eq!(first, again);
    assert_eq!((first.first_sequence, first.last_sequence), (2, 3));

    // Any appends after whatever is there.
    let any = store
        .append(&Append::new(account.clone(), Expected::Any).event(ev("E")))
        .await
        .unwrap();
    assert_eq!(any.first_sequence, 4);

    let loaded = store.load(&account).await.unwrap();
    assert_eq!(
        types(&loaded),
        [(0, "A"), (1, "B"), (2, "C"), (3, "D"), (4, "E")].map(|(n, t)| (n, t.to_string()))
    );
    assert_eq!(loaded.expected(), Expected::Next(5));

    // Bad arguments are refused: an empty batch (the client refuses it itself: Appended
    // reports a range) and an empty event type.
    let err = store
        .append(&Append::new(account.clone(), Expected::Any))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    let err = store
        .append(&Append::new(account.clone(), Expected::Any).event(ev("")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");

    // A named edition without divergence points reads main's history, then its own events,
    // which continue main's sequence; main does not see them.
    let what_if = account
        .clone()
        .in_edition(format!("e{}", Uuid::new_v4().simple()));
    assert_eq!(
        store.load(&what_if).await.unwrap().expected(),
        Expected::Next(5)
    );
    let own = store
        .append(&Append::new(what_if.clone(), Expected::Next(5)).event(ev("W")))
        .await
        .unwrap();
    assert_eq!(own.first_sequence, 5);
    let err = store
        .append(&Append::new(what_if.clone(), Expected::Next(5)).event(ev("W2")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::SequenceConflict { edition, expected: 5, actual: 6, .. } if edition == what_if.edition()),
        "{err:?}"
    );
    assert_eq!(types(&store.load(&what_if).await.unwrap()).len(), 6);
    assert_eq!(types(&store.load(&account).await.unwrap()).len(), 5);
    // A new main event after the divergence stays on main.
    let _ = store
        .append(&Append::new(account.clone(), Expected::Next(5)).event(ev("M")))
        .await
        .unwrap();
    assert_eq!(
        types(&store.load(&what_if).await.unwrap())
            .last()
            .unwrap()
            .1,
        "W"
    );
}

#[tokio::test]
async fn the_server_keeps_the_contract() {
    contract(&common::store().await).await;
}

#[tokio::test]
async fn the_in_memory_store_keeps_the_contract() {
    contract(&InMemoryStore::new()).await;
}
