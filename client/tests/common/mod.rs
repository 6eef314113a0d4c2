//! Shared by the integration tests: the database URL, a store, and fresh aggregate names so
//! tests running in parallel (and other people's tests in the same database) never meet.

#![allow(dead_code)]

pub mod projection;

use angzarr_store_client::EventStore;
use uuid::Uuid;

/// The database under test (`ANGZARR_TEST_DATABASE_URL`); it must have the extension.
pub fn database_url() -> String {
    std::env::var("ANGZARR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/angzarr_test".to_string())
}

/// A store with its own small pool.
pub async fn store() -> EventStore {
    EventStore::builder()
        .with_max_connections(8)
        .with_feed_poll_interval(std::time::Duration::from_millis(200))
        .connect(&database_url())
        .await
        .expect("connect to the test database")
}

/// A domain name no other test uses.
pub fn domain(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

/// The same URL pointing at database `name`.
pub fn url_for_database(name: &str) -> String {
    let url = database_url();
    let (url, query) = url
        .split_once('?')
        .map_or((url.as_str(), ""), |(u, q)| (u, q));
    let (base, _) = url.rsplit_once('/').expect("URL ends with /database");
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}
