//! Feature `testing`: TestDatabase creates a database with the extension and drops it, also
//! when the value is dropped without drop_database (a panicking test).
//! `cargo test -p angzarr_store_client --features testing --test testing`

#![cfg(feature = "testing")]

#[path = "common/mod.rs"]
mod common;

use angzarr_store_client::testing::TestDatabase;
use angzarr_store_client::{AggregateId, Append, Expected, NewEvent};
use uuid::Uuid;

async fn exists(name: &str) -> bool {
    let admin = sqlx::PgPool::connect(&common::url_for_database("postgres"))
        .await
        .unwrap();
    sqlx::query_scalar("SELECT count(*) = 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_test_database_has_the_extension_and_goes_away() {
    let db = TestDatabase::create(&common::url_for_database("postgres"))
        .await
        .unwrap();
    let store = db.store();
    let appended = store
        .append(
            store.pool(),
            &Append::new(AggregateId::new("t", Uuid::new_v4()), Expected::New)
                .event(NewEvent::new("A", vec![])),
        )
        .await
        .unwrap();
    assert_eq!(appended.first_sequence, 0);
    let name = db.name().to_string();
    assert!(exists(&name).await);
    db.drop_database().await.unwrap();
    assert!(!exists(&name).await);

    // Dropped without drop_database, as when a test panics.
    let db = TestDatabase::create(&common::url_for_database("postgres"))
        .await
        .unwrap();
    let name = db.name().to_string();
    drop(db);
    assert!(!exists(&name).await);
}
