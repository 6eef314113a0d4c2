//! The extension check on first use, and install() racing with itself across processes' worth
//! of pools, on a database made for this test.

use crate::common;

use angzarr_store_client::{Append, Error, EventStore, NewEvent};
use uuid::Uuid;

async fn admin() -> sqlx::PgPool {
    sqlx::PgPool::connect(&common::url_for_database("postgres"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_database_without_the_extension_says_what_to_run_and_install_fixes_it() {
    let name = format!("angzarr_client_install_{}", Uuid::new_v4().simple());
    let admin = admin().await;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&admin)
        .await
        .unwrap();

    let url = common::url_for_database(&name);
    let outcome = async move {
        let store = EventStore::connect(&url).await.unwrap();
        let err = store
            .append(
                store.pool(),
                &Append::new("d", Uuid::new_v4()).event(NewEvent::new("A", vec![])),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotInstalled), "{err:?}");
        assert!(
            err.to_string().contains("CREATE EXTENSION angzarr_store"),
            "{err}"
        );

        // Eight "processes" start at once and all install.
        let mut installers = Vec::new();
        for _ in 0..8 {
            let url = url.clone();
            installers.push(tokio::spawn(async move {
                let store = EventStore::builder()
                    .with_max_connections(2)
                    .connect(&url)
                    .await?;
                store.install().await
            }));
        }
        for i in installers {
            let version = i.await.unwrap().unwrap();
            assert!(version.starts_with("0.2"), "{version}");
        }
        // The first store's failed check was not remembered: it works now.
        assert_eq!(
            store.check_extension(store.pool()).await.unwrap(),
            store.install().await.unwrap()
        );
        let appended = store
            .append(
                store.pool(),
                &Append::new("d", Uuid::new_v4()).event(NewEvent::new("A", vec![])),
            )
            .await
            .unwrap();
        assert_eq!(appended.first_sequence, 0);
        store.pool().close().await;
    };
    let result = tokio::spawn(outcome).await;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
    result.unwrap();
}

#[tokio::test]
async fn builder_options_reach_the_sessions() {
    let store = EventStore::builder()
        .with_max_connections(3)
        .with_min_connections(1)
        .with_acquire_timeout(std::time::Duration::from_secs(5))
        .with_idle_timeout(None)
        .with_max_lifetime(Some(std::time::Duration::from_secs(60)))
        .with_statement_timeout(Some(std::time::Duration::from_millis(1500)))
        .connect(&common::database_url())
        .await
        .unwrap();
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(timeout, "1500ms");
    let notify: String = sqlx::query_scalar("SELECT current_setting('angzarr.notify')")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(notify, "on");
    assert_eq!(store.pool().options().get_max_connections(), 3);
    assert!(store
        .check_extension(store.pool())
        .await
        .unwrap()
        .starts_with("0.2"));

    let quiet = EventStore::builder()
        .with_notify(false)
        .connect(&common::database_url())
        .await
        .unwrap();
    let notify: Option<String> =
        sqlx::query_scalar("SELECT current_setting('angzarr.notify', true)")
            .fetch_one(quiet.pool())
            .await
            .unwrap();
    assert_ne!(notify.as_deref(), Some("on"));

    let bad = EventStore::builder()
        .with_acquire_timeout(std::time::Duration::from_secs(2))
        .connect("postgres://postgres@127.0.0.1:1/nowhere")
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::Database(_)), "{bad:?}");
}
