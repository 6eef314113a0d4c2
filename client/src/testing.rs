//! A throwaway database for tests (feature `testing`): created with the extension from any
//! URL on the server, dropped afterwards.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use crate::error::Result;
use crate::store::EventStore;

/// A database of its own for one test: `CREATE DATABASE angzarr_test_<random>` and
/// `CREATE EXTENSION angzarr_store` on the server `url` points at (its role must be allowed
/// to create databases and the extension), and a store on it. Call
/// [`drop_database`](Self::drop_database) at the end; if the test panics first, dropping the
/// value removes the database in the background.
///
/// ```no_run
/// use angzarr_store_client::testing::TestDatabase;
///
/// #[tokio::test]
/// async fn my_command_handler() {
///     let db = TestDatabase::create("postgres://postgres@127.0.0.1:5432/postgres").await.unwrap();
///     let store = db.store();
///     // ... exercise the application against `store` ...
///     db.drop_database().await.unwrap();
/// }
/// ```
pub struct TestDatabase {
    name: String,
    admin: PgConnectOptions,
    store: EventStore,
    dropped: bool,
}

impl TestDatabase {
    /// Creates the database and the extension, and opens a small pool on it.
    pub async fn create(url: &str) -> Result<Self> {
        let admin = PgConnectOptions::from_str(url)?;
        let name = format!("angzarr_test_{:016x}", rand::random::<u64>());
        let mut conn = admin.connect().await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let store = EventStore::builder()
            .with_max_connections(8)
            .connect_with(admin.clone().database(&name))
            .await?;
        let db = TestDatabase {
            name,
            admin,
            store,
            dropped: false,
        };
        db.store.install().await?;
        Ok(db)
    }

    /// The store on the test database.
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// The test database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the store's pool and drops the database.
    pub async fn drop_database(mut self) -> Result<()> {
        self.dropped = true;
        self.store.pool().close().await;
        drop_database(&self.admin, &self.name).await
    }
}

async fn drop_database(admin: &PgConnectOptions, name: &str) -> Result<()> {
    let mut conn: PgConnection = admin.connect().await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A test that panicked before drop_database: remove the database from a thread of its
        // own (Drop cannot await, and the test's runtime may be shutting down).
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let _ = runtime.block_on(drop_database(&admin, &name));
            }
        })
        .join();
    }
}
