//! [`AggregateStore`]: the command side an application needs (load an aggregate, append a
//! decision), implemented by the real [`EventStore`] and by [`InMemoryStore`] for unit tests
//! of application logic without a server. The client's contract tests run against both.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::Utc;

use crate::aggregate::AggregateId;
use crate::append::{Append, Appended, Expected};
use crate::error::{Error, Result};
use crate::load::{LoadedAggregate, LoadedEvent, Snapshots};
use crate::store::EventStore;

/// Load an aggregate, append a decision: what command handlers need. Write handlers against
/// `S: AggregateStore` to run them on the server ([`EventStore`]) and in unit tests
/// ([`InMemoryStore`]).
///
/// ```
/// use angzarr_store_client::{AggregateId, AggregateStore, Append, InMemoryStore, NewEvent};
///
/// async fn deposit<S: AggregateStore>(store: &S, account: &AggregateId) -> angzarr_store_client::Result<i64> {
///     let loaded = store.load(account).await?;
///     let appended = store
///         .append(&Append::new(account.clone(), loaded.expected()).event(NewEvent::new("Deposited", b"5".to_vec())))
///         .await?;
///     Ok(appended.last_sequence)
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = InMemoryStore::new();
/// let account = AggregateId::new("account", uuid::Uuid::new_v4());
/// assert_eq!(deposit(&store, &account).await?, 0);
/// assert_eq!(deposit(&store, &account).await?, 1);
/// # Ok::<(), angzarr_store_client::Error>(()) }).unwrap();
/// ```
pub trait AggregateStore: Send + Sync {
    /// Appends a batch to one aggregate, checking its [`Expected`] (see [`EventStore::append`]).
    fn append(&self, append: &Append) -> impl Future<Output = Result<Appended>> + Send;
    /// The aggregate's events (after its newest snapshot, where the store keeps snapshots).
    fn load(&self, aggregate: &AggregateId)
        -> impl Future<Output = Result<LoadedAggregate>> + Send;
}

impl AggregateStore for EventStore {
    fn append(&self, append: &Append) -> impl Future<Output = Result<Appended>> + Send {
        EventStore::append(self, self.pool(), append)
    }

    fn load(
        &self,
        aggregate: &AggregateId,
    ) -> impl Future<Output = Result<LoadedAggregate>> + Send {
        self.load_aggregate(self.pool(), aggregate, Snapshots::Use)
    }
}

/// An [`AggregateStore`] in memory, for unit tests: the same sequence, conflict
/// ([`Error::SequenceConflict`] with the same fields), idempotency-key and argument checks as
/// the server. Editions follow the server's rule for editions without divergence points: an
/// aggregate on a named edition reads main's events up to its own first event, then its own.
/// No snapshots, no feed. Cheap to clone; clones share the events.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    state: Arc<Mutex<HashMap<AggregateId, Vec<Stored>>>>,
}

#[derive(Debug, Clone)]
struct Stored {
    event: LoadedEvent,
    idempotency_key: Option<String>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The aggregate's events as the server would read them (main's shared history first).
    fn view(
        state: &HashMap<AggregateId, Vec<Stored>>,
        aggregate: &AggregateId,
    ) -> Vec<LoadedEvent> {
        let own: Vec<LoadedEvent> = state
            .get(aggregate)
            .map(|v| v.iter().map(|s| s.event.clone()).collect())
            .unwrap_or_default();
        if aggregate.is_main() {
            return own;
        }
        let main = AggregateId::new(aggregate.domain(), aggregate.root());
        let shared_below = own.first().map(|e| e.sequence).unwrap_or(i64::MAX);
        let mut view: Vec<LoadedEvent> = state
            .get(&main)
            .map(|v| {
                v.iter()
                    .map(|s| s.event.clone())
                    .filter(|e| e.sequence < shared_below)
                    .collect()
            })
            .unwrap_or_default();
        view.extend(own);
        view
    }

    fn append_now(&self, append: &Append) -> Result<Appended> {
        if append.events.is_empty() {
            return Err(Error::invalid("append_events needs at least one event"));
        }
        if append.events.iter().any(|e| e.event_type.is_empty()) {
            return Err(Error::invalid("every event needs a non-empty event type"));
        }
        if append.aggregate.domain().is_empty() {
            return Err(Error::invalid("domain must not be empty"));
        }
        let mut state = self.state.lock().expect("in-memory store poisoned");
        let key = append.idempotency_key.as_deref().filter(|k| !k.is_empty());
        if let Some(key) = key {
            let earlier: Vec<i64> = state
                .get(&append.aggregate)
                .map(|v| {
                    v.iter()
                        .filter(|s| s.idempotency_key.as_deref() == Some(key))
                        .map(|s| s.event.sequence)
                        .collect()
                })
                .unwrap_or_default();
            if let (Some(&first), Some(&last)) = (earlier.first(), earlier.last()) {
                return Ok(Appended {
                    first_sequence: first,
                    last_sequence: last,
                });
            }
        }
        let next = Self::view(&state, &append.aggregate)
            .last()
            .map_or(0, |e| e.sequence + 1);
        let expected = match append.expected {
            Expected::Any => None,
            Expected::New => Some(0),
            Expected::Next(n) => Some(n),
        };
        if let Some(expected) = expected.filter(|&n| n != next) {
            return Err(Error::SequenceConflict {
                domain: append.aggregate.domain().to_string(),
                edition: append.aggregate.edition().to_string(),
                root: append.aggregate.root(),
                expected,
                actual: next,
            });
        }
        let now = Utc::now();
        let stored = state.entry(append.aggregate.clone()).or_default();
        for (i, e) in append.events.iter().enumerate() {
            stored.push(Stored {
                event: LoadedEvent {
                    sequence: next + i as i64,
                    event_type: e.event_type.clone(),
                    payload: e.payload.clone(),
                    correlation_id: append.correlation_id.clone(),
                    created_at: now,
                },
                idempotency_key: key.map(str::to_string),
            });
        }
        Ok(Appended {
            first_sequence: next,
            last_sequence: next + append.events.len() as i64 - 1,
        })
    }
}

impl AggregateStore for InMemoryStore {
    fn append(&self, append: &Append) -> impl Future<Output = Result<Appended>> + Send {
        let result = self.append_now(append);
        async move { result }
    }

    fn load(
        &self,
        aggregate: &AggregateId,
    ) -> impl Future<Output = Result<LoadedAggregate>> + Send {
        let state = self.state.lock().expect("in-memory store poisoned");
        let events = Self::view(&state, aggregate);
        async move {
            Ok(LoadedAggregate {
                snapshot: None,
                events,
            })
        }
    }
}
