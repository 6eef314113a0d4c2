//! The extension check on first use, and install() racing with itself across processes' worth
//! of pools, on a database made for this test.

use crate::common;

use angzarr_store_client::{AggregateId, Append, Error, EventStore, Expected, NewEvent};
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
                &Append::new(AggregateId::new("d", Uuid::new_v4()), Expected::Any)
                    .event(NewEvent::new("A", vec![])),
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
            assert!(version.starts_with("0.3"), "{version}");
        }
        // The first store's failed check was not remembered: it works now.
        assert_eq!(
            store.check_extension(store.pool()).await.unwrap(),
            store.install().await.unwrap()
        );
        let appended = store
            .append(
                store.pool(),
                &Append::new(AggregateId::new("d", Uuid::new_v4()), Expected::Any)
                    .event(NewEvent::new("A", vec![])),
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
        .starts_with("0.3"));

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

#[tokio::test]
async fn ping_asks_the_server_every_time() {
    let name = format!("angzarr_client_ping_{}", Uuid::new_v4().simple());
    let admin = admin().await;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&admin)
        .await
        .unwrap();
    let url = common::url_for_database(&name);
    let outcome = async move {
        let store = EventStore::connect(&url).await.unwrap();
        let installed = store.install().await.unwrap();
        let health = store.ping().await.unwrap();
        assert_eq!(health.extension_version, installed);
        // Someone drops the extension: ping and check_extension notice, though the first-use
        // check already passed.
        sqlx::query("DROP EXTENSION angzarr_store CASCADE")
            .execute(store.pool())
            .await
            .unwrap();
        assert!(matches!(store.ping().await, Err(Error::NotInstalled)));
        let err = store.check_extension(store.pool()).await.unwrap_err();
        assert!(matches!(err, Error::NotInstalled), "{err:?}");
        store.pool().close().await;

        // An unreachable server: ping fails instead of answering from a cache.
        let gone = EventStore::builder()
            .with_acquire_timeout(std::time::Duration::from_secs(1))
            .connect(&url)
            .await
            .unwrap();
        gone.pool().close().await;
        assert!(gone.ping().await.is_err());
    };
    let result = tokio::spawn(outcome).await;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
    result.unwrap();
}

#[tokio::test]
async fn a_store_on_your_own_pool_turns_notify_on_for_its_sessions() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(&common::database_url())
        .unwrap();
    let store = EventStore::new(pool.clone());
    let notify: String = sqlx::query_scalar("SELECT current_setting('angzarr.notify')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(notify, "on");
    // The caller's other settings in the URL stay.
    assert_eq!(
        store.pool().connect_options().get_database(),
        pool.connect_options().get_database()
    );
}
