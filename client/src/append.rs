//! Appending: to one aggregate with `angzarr.append_events()`, or to several at once through the
//! `angzarr.expected_sequences` setting and a plain INSERT.

use std::collections::{BTreeMap, HashSet};

use sqlx::Row;
use uuid::Uuid;

use crate::aggregate::AggregateId;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::event::{NewEvent, MAIN_EDITION};
use crate::store::EventStore;

/// What the writer expects of the aggregate, for optimistic concurrency. There is no default:
/// every [`Append`] states one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// No check: append after whatever is there. Only for writers that never decide on loaded
    /// state (e.g. logging facts).
    Any,
    /// The aggregate must have no events yet (its next sequence is 0).
    New,
    /// The aggregate's next sequence must be this, i.e. the writer has seen exactly this many
    /// events. Anything else fails with [`Error::SequenceConflict`].
    Next(i64),
}

impl Expected {
    /// The value of the SQL `expected_sequence` argument (NULL for any).
    pub(crate) fn as_sql(self) -> Option<i64> {
        match self {
            Expected::Any => None,
            Expected::New => Some(0),
            Expected::Next(n) => Some(n),
        }
    }
}

/// A batch of events for one aggregate, built with the `with`-style methods below.
///
/// ```
/// use angzarr_store_client::{AggregateId, Append, Expected, NewEvent};
/// use uuid::Uuid;
///
/// let account = AggregateId::new("account", Uuid::new_v4());
/// let append = Append::new(account, Expected::Next(3))
///     .correlation_id("transfer-17")
///     .idempotency_key("cmd-8f2e")
///     .event(NewEvent::new("Deposited", b"{\"amount\":5}".to_vec()));
/// assert_eq!(append.events.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an Append does nothing until passed to EventStore::append"]
pub struct Append {
    /// The aggregate (and edition) to write to.
    pub aggregate: AggregateId,
    /// The concurrency check.
    pub expected: Expected,
    /// Stored on every event of the batch.
    pub correlation_id: Option<String>,
    /// Makes the append idempotent: a repeat with the same key returns the first append's
    /// sequences and writes nothing.
    pub idempotency_key: Option<String>,
    /// The events, in order.
    pub events: Vec<NewEvent>,
}

impl Append {
    /// An empty batch for `aggregate`, appended only if `expected` holds.
    pub fn new(aggregate: AggregateId, expected: Expected) -> Self {
        Append {
            aggregate,
            expected,
            correlation_id: None,
            idempotency_key: None,
            events: Vec::new(),
        }
    }

    /// Replaces the concurrency check.
    pub fn expect(mut self, expected: Expected) -> Self {
        self.expected = expected;
        self
    }

    /// Sets the correlation id stored on every event.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Makes the append idempotent under `key`.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Adds one event.
    pub fn event(mut self, event: NewEvent) -> Self {
        self.events.push(event);
        self
    }

    /// Adds several events.
    pub fn events(mut self, events: impl IntoIterator<Item = NewEvent>) -> Self {
        self.events.extend(events);
        self
    }

    pub(crate) fn edition_name(&self) -> &str {
        self.aggregate.edition()
    }

    pub(crate) fn domain(&self) -> &str {
        self.aggregate.domain()
    }

    pub(crate) fn root(&self) -> Uuid {
        self.aggregate.root()
    }
}

/// The stored spelling of an edition argument.
pub(crate) fn edition_or_main(edition: Option<&str>) -> &str {
    match edition {
        None | Some("") => MAIN_EDITION,
        Some(e) => e,
    }
}

/// The sequences an append got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Appended {
    /// Sequence of the batch's first event.
    pub first_sequence: i64,
    /// Sequence of the batch's last event.
    pub last_sequence: i64,
}

impl Appended {
    /// The aggregate's next sequence after this append: what to pass as
    /// [`Expected::Next`] for the following one.
    pub fn next_sequence(&self) -> i64 {
        self.last_sequence + 1
    }
}

impl EventStore {
    /// Appends a batch to one aggregate atomically (`angzarr.append_events`).
    ///
    /// Fails with [`Error::SequenceConflict`] when `append.expected` does not hold, and with
    /// [`Error::InvalidArgument`] for an empty batch or a bad name.
    #[tracing::instrument(
        name = "angzarr.append",
        skip_all,
        err,
        fields(domain = %append.domain(), edition = %append.edition_name(), root = %append.root(),
               events = append.events.len())
    )]
    pub async fn append<'c>(&self, db: impl Into<Db<'c>>, append: &Append) -> Result<Appended> {
        if append.events.is_empty() {
            // Appended reports a range, which an empty batch does not have.
            return Err(Error::InvalidArgument {
                message: "an append needs at least one event".to_string(),
                hint: Some("Add events with .event(...) or .events(...).".to_string()),
            });
        }
        match db.into() {
            // Repeating it is safe: a repeat under the same key returns the first append's range.
            Db::Pool(pool) if append.idempotency_key.is_some() => {
                self.reconnecting(|| self.append_once(Db::Pool(pool), append))
                    .await
            }
            db => self.append_once(db, append).await,
        }
    }

    async fn append_once(&self, db: Db<'_>, append: &Append) -> Result<Appended> {
        let mut conn = self.conn(db).await?;
        let (types, payloads): (Vec<&str>, Vec<&[u8]>) = append
            .events
            .iter()
            .map(|e| (e.event_type.as_str(), e.payload.as_slice()))
            .unzip();
        let appended: Appended = sqlx::query_as(include_str!("sql/append_events.sql"))
            .bind(append.domain())
            .bind(append.root())
            .bind(types)
            .bind(payloads)
            .bind(append.expected.as_sql())
            .bind(append.edition_name())
            .bind(append.correlation_id.as_deref())
            .bind(append.idempotency_key.as_deref())
            .fetch_one(&mut *conn)
            .await?;
        crate::telemetry::appended(append.events.len());
        Ok(appended)
    }

    /// Appends to several aggregates in one transaction: all batches land, or none does.
    ///
    /// Each batch's [`Expected`] is checked. Rows are written in (domain, edition, root) order
    /// so concurrent multi-aggregate writers take locks in the same order and cannot deadlock.
    /// Returns one [`Appended`] per batch, in the order given. An aggregate may appear once;
    /// idempotency keys are not supported here (use [`EventStore::append`]).
    ///
    /// Run on a pool it commits on its own; on the caller's transaction it becomes part of it.
    ///
    /// ```no_run
    /// use angzarr_store_client::{AggregateId, Append, EventStore, Expected, NewEvent};
    /// # async fn demo(store: EventStore, from: uuid::Uuid, to: uuid::Uuid) -> angzarr_store_client::Result<()> {
    /// store.append_many(store.pool(), &[
    ///     Append::new(AggregateId::new("account", from), Expected::Next(4))
    ///         .event(NewEvent::new("Withdrawn", b"{\"amount\":5}".to_vec())),
    ///     Append::new(AggregateId::new("account", to), Expected::Next(2))
    ///         .event(NewEvent::new("Deposited", b"{\"amount\":5}".to_vec())),
    /// ]).await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(
        name = "angzarr.append_many",
        skip_all,
        err,
        fields(aggregates = appends.len(), events = appends.iter().map(|a| a.events.len()).sum::<usize>())
    )]
    pub async fn append_many<'c>(
        &self,
        db: impl Into<Db<'c>>,
        appends: &[Append],
    ) -> Result<Vec<Appended>> {
        let mut seen = HashSet::new();
        for a in appends {
            if a.events.is_empty() {
                return Err(Error::invalid(format!(
                    "no events for {}/{}",
                    a.domain(),
                    a.root()
                )));
            }
            if a.idempotency_key.is_some() {
                return Err(Error::invalid(
                    "append_many does not take idempotency keys; use append for idempotent writes",
                ));
            }
            if !seen.insert((a.domain(), a.edition_name(), a.root())) {
                return Err(Error::invalid(format!(
                    "{}/{} appears twice; put all its events in one Append",
                    a.domain(),
                    a.root()
                )));
            }
        }
        if appends.is_empty() {
            return Ok(Vec::new());
        }
        let mut order: Vec<usize> = (0..appends.len()).collect();
        order.sort_by(|&x, &y| {
            let (a, b) = (&appends[x], &appends[y]);
            (a.domain(), a.edition_name(), a.root()).cmp(&(b.domain(), b.edition_name(), b.root()))
        });
        let expectations: serde_json::Map<String, serde_json::Value> = appends
            .iter()
            .filter_map(|a| {
                let n = a.expected.as_sql()?;
                Some((
                    format!("{}/{}/{}", a.domain(), a.edition_name(), a.root()),
                    n.into(),
                ))
            })
            .collect();
        let mut rows = Rows::default();
        for &i in &order {
            let a = &appends[i];
            for e in &a.events {
                rows.push(a, e);
            }
        }

        let mut tx = db.into().begin().await?;
        self.ready(&mut tx).await?;
        sqlx::query(include_str!("sql/set_expected_sequences.sql"))
            .bind(serde_json::Value::Object(expectations).to_string())
            .execute(&mut *tx)
            .await?;
        let written = sqlx::query(include_str!("sql/insert_events.sql"))
            .bind(&rows.domains)
            .bind(&rows.editions)
            .bind(&rows.roots)
            .bind(&rows.types)
            .bind(&rows.payloads)
            .bind(&rows.correlation_ids)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query(include_str!("sql/set_expected_sequences.sql"))
            .bind("")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        crate::telemetry::appended(rows.types.len());

        // Sequences per batch, matched by aggregate (each appears once).
        let batch_of: BTreeMap<(&str, &str, Uuid), usize> = appends
            .iter()
            .enumerate()
            .map(|(i, a)| ((a.domain(), a.edition_name(), a.root()), i))
            .collect();
        let mut ranges: BTreeMap<usize, Appended> = BTreeMap::new();
        for row in &written {
            let domain: &str = row.try_get("domain")?;
            let edition: &str = row.try_get("edition")?;
            let root: Uuid = row.try_get("root")?;
            let seq: i64 = row.try_get("sequence")?;
            let Some(&batch) = batch_of.get(&(domain, edition, root)) else {
                return Err(Error::invalid(format!(
                    "the database wrote to {domain}/{root} in edition {edition:?}, which was not asked for"
                )));
            };
            ranges
                .entry(batch)
                .and_modify(|r| {
                    r.first_sequence = r.first_sequence.min(seq);
                    r.last_sequence = r.last_sequence.max(seq);
                })
                .or_insert(Appended {
                    first_sequence: seq,
                    last_sequence: seq,
                });
        }
        (0..appends.len())
            .map(|i| {
                ranges.get(&i).copied().ok_or_else(|| {
                    Error::invalid(format!("the database wrote no row for batch {i}"))
                })
            })
            .collect()
    }
}

/// Column arrays for one INSERT ... SELECT FROM unnest(...).
#[derive(Default)]
struct Rows<'a> {
    domains: Vec<&'a str>,
    editions: Vec<&'a str>,
    roots: Vec<Uuid>,
    types: Vec<&'a str>,
    payloads: Vec<&'a [u8]>,
    correlation_ids: Vec<Option<&'a str>>,
}

impl<'a> Rows<'a> {
    fn push(&mut self, a: &'a Append, e: &'a NewEvent) {
        self.domains.push(a.domain());
        self.editions.push(a.edition_name());
        self.roots.push(a.root());
        self.types.push(&e.event_type);
        self.payloads.push(&e.payload);
        self.correlation_ids.push(a.correlation_id.as_deref());
    }
}
