//! [`Db`]: where an operation runs, the caller's pool or a connection the caller holds.
//!
//! A concrete enum rather than a generic `sqlx::Acquire` parameter: futures that hold a
//! `&mut Transaction` through a generic `Acquire` are not provably `Send` (the "implementation of
//! `Acquire` is not general enough" error), which would keep callers from running transactional
//! calls inside `tokio::spawn` or web handlers.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Connection, Postgres, Transaction};

use crate::error::Result;
use crate::store::EventStore;

/// Where an operation runs. Anything that converts into it can be passed as `db`:
///
/// * a pool (`store.pool()`, any `&PgPool`, or `&store`): the operation takes a connection
///   and commits on its own;
/// * a connection the caller holds (`&mut PgConnection`, `&mut *tx`, `&mut tx` for a
///   `sqlx::Transaction`, `&mut PoolConnection`): the operation runs on it, inside the caller's
///   transaction if one is open, and commits nothing itself.
#[derive(Debug)]
pub enum Db<'c> {
    /// Take a connection from this pool for the operation.
    Pool(&'c PgPool),
    /// Run on this connection (and in its open transaction, if any).
    Connection(&'c mut PgConnection),
}

impl<'c> From<&'c PgPool> for Db<'c> {
    fn from(pool: &'c PgPool) -> Self {
        Db::Pool(pool)
    }
}

impl<'c> From<&'c EventStore> for Db<'c> {
    fn from(store: &'c EventStore) -> Self {
        Db::Pool(store.pool())
    }
}

impl<'c> From<&'c mut PgConnection> for Db<'c> {
    fn from(conn: &'c mut PgConnection) -> Self {
        Db::Connection(conn)
    }
}

impl<'c, 't> From<&'c mut Transaction<'t, Postgres>> for Db<'c> {
    fn from(tx: &'c mut Transaction<'t, Postgres>) -> Self {
        Db::Connection(tx)
    }
}

impl<'c> From<&'c mut PoolConnection<Postgres>> for Db<'c> {
    fn from(conn: &'c mut PoolConnection<Postgres>) -> Self {
        Db::Connection(conn)
    }
}

/// A connection for the length of one operation: taken from the pool or borrowed.
pub(crate) enum Conn<'c> {
    Pooled(PoolConnection<Postgres>),
    Borrowed(&'c mut PgConnection),
}

impl Deref for Conn<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Borrowed(c) => c,
        }
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Borrowed(c) => c,
        }
    }
}

impl<'c> Db<'c> {
    /// A connection from the pool, or the caller's.
    pub(crate) async fn acquire(self) -> Result<Conn<'c>> {
        Ok(match self {
            Db::Pool(pool) => Conn::Pooled(pool.acquire().await?),
            Db::Connection(conn) => Conn::Borrowed(conn),
        })
    }

    /// A transaction of its own on a pool; a savepoint inside the caller's open transaction.
    pub(crate) async fn begin(self) -> Result<Transaction<'c, Postgres>> {
        Ok(match self {
            Db::Pool(pool) => pool.begin().await?,
            Db::Connection(conn) => conn.begin().await?,
        })
    }
}
