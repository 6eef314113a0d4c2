//! Editions: named what-if timelines that share main's history up to a divergence point.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::Row;

use crate::db::Db;
use crate::error::Result;
use crate::store::EventStore;

/// A named edition, as [`EventStore::list_editions`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditionInfo {
    /// Its name.
    pub name: String,
    /// True when made with [`EventStore::create_edition`]; false when only used by events
    /// (it then diverges at each aggregate's first own event).
    pub created: bool,
    /// Per-domain divergence sequences.
    pub divergences: BTreeMap<String, i64>,
    /// Main events created before this time are shared.
    pub diverged_at: Option<DateTime<Utc>>,
    /// Events stored in the edition itself.
    pub event_count: i64,
    /// When it was created, if it was.
    pub created_at: Option<DateTime<Utc>>,
}

/// A new edition and where it diverges from main, for [`EventStore::create_edition`].
///
/// ```
/// use angzarr_store_client::NewEdition;
/// let e = NewEdition::named("what-if").diverge_at_sequence("table", 12);
/// assert_eq!(e.divergences["table"], 12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a NewEdition does nothing until passed to EventStore::create_edition"]
pub struct NewEdition {
    /// Its name.
    pub name: String,
    /// Per domain, the sequence where it diverges: `{"player": 5}` shares main's events 0..=4
    /// of every player aggregate.
    pub divergences: BTreeMap<String, i64>,
    /// Main events created before this time are shared.
    pub diverged_at: Option<DateTime<Utc>>,
}

impl NewEdition {
    /// Edition `name`; without divergence points it diverges at each aggregate's first own
    /// event.
    pub fn named(name: impl Into<String>) -> Self {
        NewEdition {
            name: name.into(),
            divergences: BTreeMap::new(),
            diverged_at: None,
        }
    }

    /// Shares main's events below `sequence` of every aggregate in `domain`.
    pub fn diverge_at_sequence(mut self, domain: impl Into<String>, sequence: i64) -> Self {
        self.divergences.insert(domain.into(), sequence);
        self
    }

    /// Shares main's events created before `time` (the earlier point wins).
    pub fn diverge_at_time(mut self, time: DateTime<Utc>) -> Self {
        self.diverged_at = Some(time);
        self
    }
}

impl EventStore {
    /// Creates an edition, optionally pinning where it diverges from main: per domain at a
    /// sequence, and/or at a time; the earlier point wins. Fails with
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) when it exists,
    /// [`Error::InvalidState`](crate::Error::InvalidState) when events were already written to
    /// it, and [`Error::ProtectedEdition`](crate::Error::ProtectedEdition) for main.
    ///
    /// ```no_run
    /// # async fn demo(store: angzarr_store_client::EventStore) -> angzarr_store_client::Result<()> {
    /// use angzarr_store_client::NewEdition;
    /// store
    ///     .create_edition(store.pool(), &NewEdition::named("what-if").diverge_at_sequence("table", 12))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(name = "angzarr.create_edition", skip_all, err, fields(edition = %edition.name))]
    pub async fn create_edition<'c>(
        &self,
        db: impl Into<Db<'c>>,
        edition: &NewEdition,
    ) -> Result<()> {
        let mut conn = self.conn(db).await?;
        let divergences = (!edition.divergences.is_empty()).then_some(Json(&edition.divergences));
        sqlx::query(include_str!("sql/create_edition.sql"))
            .bind(&edition.name)
            .bind(divergences)
            .bind(edition.diverged_at)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Throws a named edition away: its events, snapshots, positions and definition. Returns
    /// how many events went. Main is refused with
    /// [`Error::ProtectedEdition`](crate::Error::ProtectedEdition).
    #[tracing::instrument(name = "angzarr.discard_edition", skip_all, err, fields(edition = name))]
    pub async fn discard_edition<'c>(&self, db: impl Into<Db<'c>>, name: &str) -> Result<i64> {
        let mut conn = self.conn(db).await?;
        Ok(sqlx::query_scalar(include_str!("sql/discard_edition.sql"))
            .bind(name)
            .fetch_one(&mut *conn)
            .await?)
    }

    /// The named editions (created or merely used), by name. Main is not listed.
    #[tracing::instrument(name = "angzarr.list_editions", skip_all, err)]
    pub async fn list_editions<'c>(&self, db: impl Into<Db<'c>>) -> Result<Vec<EditionInfo>> {
        let mut conn = self.conn(db).await?;
        let rows = sqlx::query(include_str!("sql/list_editions.sql"))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| {
                let divergences: Option<Json<BTreeMap<String, i64>>> = r.try_get("divergences")?;
                Ok(EditionInfo {
                    name: r.try_get("name")?,
                    created: r.try_get("created")?,
                    divergences: divergences.map(|j| j.0).unwrap_or_default(),
                    diverged_at: r.try_get("diverged_at")?,
                    event_count: r.try_get("event_count")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}
