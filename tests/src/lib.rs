//! Shared plumbing for the multi-session tests: each test gets its own connection pool to the
//! database named by `ANGZARR_TEST_DATABASE_URL` (set by `make test`) and its own aggregates,
//! so tests run in parallel without seeing each other's rows.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Executor;

/// The database the tests write to.
pub fn database_url() -> String {
    std::env::var("ANGZARR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/angzarr_test".to_string())
}

/// A pool of `size` connections to the test database.
pub async fn pool(size: u32) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .connect(&database_url())
        .await?)
}

/// The SQLSTATE of a database error, if `err` is one.
pub fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

/// Makes sure the extension exists in the test database.
pub async fn ensure_extension(pool: &PgPool) -> anyhow::Result<()> {
    pool.execute("CREATE EXTENSION IF NOT EXISTS angzarr_store")
        .await?;
    Ok(())
}
