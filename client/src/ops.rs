//! Operator questions: why the feed is behind, and whether the stored history is intact.

use chrono::TimeDelta;
use sqlx::postgres::types::PgInterval;
use sqlx::Row;
use uuid::Uuid;

use crate::db::Db;
use crate::error::Result;
use crate::store::EventStore;

/// How far the feed is held back, and by whom (see `angzarr.feed_lag()`). Feed readers only see
/// events below the oldest running transaction of the cluster, so one long transaction delays
/// everything committed after it started writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLag {
    /// Feed readers see events with `feed_tx` below this.
    pub horizon_feed_tx: i64,
    /// Committed events readers cannot see yet.
    pub held_back_events: i64,
    /// The backend holding the horizon back, if it is a running session.
    pub oldest_xact_pid: Option<i32>,
    /// Its database.
    pub oldest_xact_database: Option<String>,
    /// Its state (`active`, `idle in transaction`, `prepared`, ...).
    pub oldest_xact_state: Option<String>,
    /// How long it has been open.
    pub oldest_xact_age: Option<TimeDelta>,
    /// Its global id, when it is a prepared transaction.
    pub oldest_xact_prepared_gid: Option<String>,
}

/// One problem found by [`EventStore::check_integrity`].
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IntegrityProblem {
    /// `gap`, `duplicate sequence`, `feed order`, `duplicate position`, `position counter`.
    pub problem: String,
    /// Where, when it concerns one aggregate or domain.
    pub domain: Option<String>,
    /// The edition, when known.
    pub edition: Option<String>,
    /// The aggregate, when known.
    pub root: Option<Uuid>,
    /// The sequence, when known.
    pub sequence: Option<i64>,
    /// What exactly is wrong.
    pub detail: String,
}

fn to_delta(i: PgInterval) -> TimeDelta {
    const DAY_US: i64 = 86_400_000_000;
    let days = i64::from(i.months) * 30 + i64::from(i.days);
    TimeDelta::microseconds(i.microseconds.saturating_add(days.saturating_mul(DAY_US)))
}

impl EventStore {
    /// Why the feed is behind: the horizon, how many committed events wait behind it, and the
    /// transaction holding it.
    #[tracing::instrument(name = "angzarr.feed_lag", skip_all, err)]
    pub async fn feed_lag<'c>(&self, db: impl Into<Db<'c>>) -> Result<FeedLag> {
        let mut conn = self.conn(db).await?;
        let row = sqlx::query(include_str!("sql/feed_lag.sql"))
            .fetch_one(&mut *conn)
            .await?;
        Ok(FeedLag {
            horizon_feed_tx: row.try_get("horizon_feed_tx")?,
            held_back_events: row.try_get("held_back_events")?,
            oldest_xact_pid: row.try_get("oldest_xact_pid")?,
            oldest_xact_database: row.try_get("oldest_xact_database")?,
            oldest_xact_state: row.try_get("oldest_xact_state")?,
            oldest_xact_age: row
                .try_get::<Option<PgInterval>, _>("oldest_xact_age")?
                .map(to_delta),
            oldest_xact_prepared_gid: row.try_get("oldest_xact_prepared_gid")?,
        })
    }

    /// Scans the whole store for sequence gaps and duplicates, out-of-order or repeated feed
    /// positions and a lagging position counter; empty when healthy. Reads every event: run it
    /// after a restore or an upgrade, not on a hot path.
    #[tracing::instrument(name = "angzarr.check_integrity", skip_all, err)]
    pub async fn check_integrity<'c>(
        &self,
        db: impl Into<Db<'c>>,
    ) -> Result<Vec<IntegrityProblem>> {
        let mut conn = self.conn(db).await?;
        Ok(sqlx::query_as(include_str!("sql/check_integrity.sql"))
            .fetch_all(&mut *conn)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_become_time_deltas() {
        let i = PgInterval {
            months: 0,
            days: 1,
            microseconds: 1_500_000,
        };
        assert_eq!(
            to_delta(i),
            TimeDelta::days(1) + TimeDelta::milliseconds(1500)
        );
    }
}
