//! Finding what is stored: domains, roots, an aggregate's next sequence, and its history as of a
//! sequence or a time.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::append::edition_or_main;
use crate::db::Db;
use crate::error::Result;
use crate::event::RecordedEvent;
use crate::store::EventStore;

impl EventStore {
    /// Every domain that has events in any edition, in name order.
    #[tracing::instrument(name = "angzarr.list_domains", skip_all, err)]
    pub async fn list_domains<'c>(&self, db: impl Into<Db<'c>>) -> Result<Vec<String>> {
        let mut conn = self.conn(db).await?;
        Ok(sqlx::query_scalar(include_str!("sql/list_domains.sql"))
            .fetch_all(&mut *conn)
            .await?)
    }

    /// The roots of `domain` as `edition` sees them (a named edition includes the main roots
    /// whose history it shares), in UUID order.
    #[tracing::instrument(name = "angzarr.list_roots", skip_all, err,
                          fields(domain = domain, edition = edition_or_main(edition)))]
    pub async fn list_roots<'c>(
        &self,
        db: impl Into<Db<'c>>,
        domain: &str,
        edition: Option<&str>,
    ) -> Result<Vec<Uuid>> {
        let mut conn = self.conn(db).await?;
        Ok(sqlx::query_scalar(include_str!("sql/list_roots.sql"))
            .bind(domain)
            .bind(edition_or_main(edition))
            .fetch_all(&mut *conn)
            .await?)
    }

    /// The sequence the aggregate's next event gets: 0 for a new aggregate. Pass it as
    /// [`Expected::Next`](crate::Expected::Next) to append only if nothing changed meanwhile.
    #[tracing::instrument(name = "angzarr.next_sequence", skip_all, err,
                          fields(domain = domain, edition = edition_or_main(edition), root = %root))]
    pub async fn next_sequence<'c>(
        &self,
        db: impl Into<Db<'c>>,
        domain: &str,
        root: Uuid,
        edition: Option<&str>,
    ) -> Result<i64> {
        let mut conn = self.conn(db).await?;
        let next: Option<i64> = sqlx::query_scalar(include_str!("sql/next_sequence.sql"))
            .bind(domain)
            .bind(root)
            .bind(edition_or_main(edition))
            .fetch_one(&mut *conn)
            .await?;
        Ok(next.unwrap_or(0))
    }

    /// The aggregate's events up to and including `as_of_sequence`: its state right after that
    /// event. Loads them all at once; stream a long history with
    /// [`read_stream`](Self::read_stream) and `ReadStream::to(as_of_sequence + 1)` instead.
    #[tracing::instrument(name = "angzarr.read_as_of_sequence", skip_all, err,
                          fields(domain = domain, edition = edition_or_main(edition), root = %root))]
    pub async fn read_as_of_sequence<'c>(
        &self,
        db: impl Into<Db<'c>>,
        domain: &str,
        root: Uuid,
        as_of_sequence: i64,
        edition: Option<&str>,
    ) -> Result<Vec<RecordedEvent>> {
        let mut conn = self.conn(db).await?;
        let rows = sqlx::query(include_str!("sql/read_as_of_sequence.sql"))
            .bind(domain)
            .bind(root)
            .bind(as_of_sequence)
            .bind(edition_or_main(edition))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| RecordedEvent::from_row(r, domain, root))
            .collect()
    }

    /// The aggregate's events as they stood at `as_of`: the gap-free prefix of events created
    /// at or before it.
    #[tracing::instrument(name = "angzarr.read_as_of_time", skip_all, err,
                          fields(domain = domain, edition = edition_or_main(edition), root = %root))]
    pub async fn read_as_of_time<'c>(
        &self,
        db: impl Into<Db<'c>>,
        domain: &str,
        root: Uuid,
        as_of: DateTime<Utc>,
        edition: Option<&str>,
    ) -> Result<Vec<RecordedEvent>> {
        let mut conn = self.conn(db).await?;
        let rows = sqlx::query(include_str!("sql/read_as_of_time.sql"))
            .bind(domain)
            .bind(root)
            .bind(as_of)
            .bind(edition_or_main(edition))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| RecordedEvent::from_row(r, domain, root))
            .collect()
    }

    /// The key of the lock that writers of the aggregate hold while appending: in `pg_locks`
    /// an advisory lock with `objsubid` 3 whose `classid`/`objid` are the key's high and low
    /// halves (find it there when diagnosing a blocked writer).
    pub async fn aggregate_lock_key<'c>(
        &self,
        db: impl Into<Db<'c>>,
        domain: &str,
        root: Uuid,
        edition: Option<&str>,
    ) -> Result<i64> {
        let mut conn = self.conn(db).await?;
        Ok(
            sqlx::query_scalar(include_str!("sql/aggregate_lock_key.sql"))
                .bind(domain)
                .bind(root)
                .bind(edition_or_main(edition))
                .fetch_one(&mut *conn)
                .await?,
        )
    }
}
