//! With feature `tls`, `connect` reaches a server that requires SSL. Built only with the
//! feature (`cargo test -p angzarr_store_client --features tls --test tls`); the server under
//! test must have `ssl = on`.

#![cfg(feature = "tls")]

#[path = "common/mod.rs"]
mod common;

use angzarr_store_client::EventStore;

#[tokio::test]
async fn connect_with_sslmode_require_uses_tls() {
    let url = common::database_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = EventStore::connect(&format!("{url}{sep}sslmode=require"))
        .await
        .expect("connect over TLS");
    let ssl: bool = angzarr_store_client::sqlx::query_scalar(
        "SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(ssl, "the session is encrypted");
    assert!(store.check_extension(store.pool()).await.is_ok());
}
