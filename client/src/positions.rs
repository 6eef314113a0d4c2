//! Handler positions: how far a projector, saga or process manager has got in each aggregate,
//! so it resumes after a restart. Positions only move forward.

use crate::aggregate::AggregateId;
use crate::db::Db;
use crate::error::Result;
use crate::store::EventStore;

/// Which of a handler's positions [`EventStore::reset_positions`] forgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetScope<'a> {
    /// Every domain's.
    AllDomains,
    /// Only this domain's.
    Domain(&'a str),
}

impl EventStore {
    /// Records that `handler` has processed the aggregate up to `sequence` and returns the
    /// stored position. A lower or equal sequence changes nothing (redelivered or reordered
    /// acknowledgements never move a handler back). Run it in the transaction that applied the
    /// events to make the projection exactly-once.
    ///
    /// ```no_run
    /// # async fn demo(store: angzarr_store_client::EventStore, root: uuid::Uuid) -> angzarr_store_client::Result<()> {
    /// use angzarr_store_client::AggregateId;
    /// let account = AggregateId::new("account", root);
    /// let mut tx = store.pool().begin().await?;
    /// sqlx::query("UPDATE balances SET amount = amount + 10 WHERE account = $1")
    ///     .bind(root).execute(&mut *tx).await?;
    /// store.save_position(&mut *tx, "balances", &account, 7).await?;
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "angzarr.save_position", skip_all, err,
                          fields(handler = handler, domain = aggregate.domain(),
                                 edition = aggregate.edition(), root = %aggregate.root(), sequence))]
    pub async fn save_position<'c>(
        &self,
        db: impl Into<Db<'c>>,
        handler: &str,
        aggregate: &AggregateId,
        sequence: i64,
    ) -> Result<i64> {
        let mut conn = self.conn(db).await?;
        let stored: Option<i64> = sqlx::query_scalar(include_str!("sql/save_position.sql"))
            .bind(handler)
            .bind(aggregate.domain())
            .bind(aggregate.root())
            .bind(sequence)
            .bind(aggregate.edition())
            .fetch_one(&mut *conn)
            .await?;
        Ok(stored.unwrap_or(sequence))
    }

    /// The last sequence `handler` processed in the aggregate; `None` when it has processed
    /// nothing there (0 is a position: the first event).
    #[tracing::instrument(name = "angzarr.get_position", skip_all, err,
                          fields(handler = handler, domain = aggregate.domain(),
                                 edition = aggregate.edition(), root = %aggregate.root()))]
    pub async fn get_position<'c>(
        &self,
        db: impl Into<Db<'c>>,
        handler: &str,
        aggregate: &AggregateId,
    ) -> Result<Option<i64>> {
        let mut conn = self.conn(db).await?;
        Ok(sqlx::query_scalar(include_str!("sql/get_position.sql"))
            .bind(handler)
            .bind(aggregate.domain())
            .bind(aggregate.root())
            .bind(aggregate.edition())
            .fetch_one(&mut *conn)
            .await?)
    }

    /// Forgets `handler`'s positions (in every domain, or in one) so it rebuilds from the
    /// start; returns how many were deleted. The one deliberate way back.
    #[tracing::instrument(name = "angzarr.reset_positions", skip_all, err,
                          fields(handler = handler, scope = ?scope))]
    pub async fn reset_positions<'c>(
        &self,
        db: impl Into<Db<'c>>,
        handler: &str,
        scope: ResetScope<'_>,
    ) -> Result<i64> {
        let mut conn = self.conn(db).await?;
        let domain = match scope {
            ResetScope::AllDomains => None,
            ResetScope::Domain(d) => Some(d),
        };
        Ok(sqlx::query_scalar(include_str!("sql/reset_positions.sql"))
            .bind(handler)
            .bind(domain)
            .fetch_one(&mut *conn)
            .await?)
    }
}
