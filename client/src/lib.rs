//! # The Rust client: `angzarr_store_client`
//!
//! A thin async client for the extension, on [sqlx](https://docs.rs/sqlx) 0.8 (Postgres,
//! tokio). It never loads pgrx; every call is one of the extension's SQL functions.
//!
//! ## Install
//!
//! ```toml
//! [dependencies]
//! angzarr_store_client = "0.2"            # features = ["tls"] for servers that require SSL
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! The client re-exports [`sqlx`]; use `angzarr_store_client::sqlx` for your own pool and
//! queries so both always agree on its version. Feature `tls` (rustls with the webpki roots)
//! or `tls-native-roots` (the system's roots) lets `connect` reach servers that require SSL
//! (`?sslmode=require` or `verify-full` in the URL).
//!
//! **Which servers:** every call is one of the extension's SQL functions, so the database
//! must have the `angzarr_store` extension: PostgreSQL 15 you run yourself, or a hosted
//! PostgreSQL that lets you install your own extensions. Managed services limited to their own
//! extension list (RDS/Aurora, Cloud SQL, Azure, Supabase, Neon, ...) cannot run it.
//!
//! The database needs the extension (`CREATE EXTENSION angzarr_store;` as a superuser, or
//! `store.install()`, which is safe when many processes start at once). The first call checks
//! that the installed version is one this client supports ([`SUPPORTED_EXTENSION_VERSIONS`]) and
//! otherwise fails with [`Error::NotInstalled`] or [`Error::IncompatibleVersion`], naming the
//! SQL to run.
//!
//! ## Connect
//!
//! Bring your own pool (the main door), or let the client open one:
//!
//! ```rust,no_run
//! use std::time::Duration;
//! use angzarr_store_client::EventStore;
//!
//! async fn connect(pool: sqlx::PgPool) -> angzarr_store_client::Result<()> {
//!     // Your pool, shared with the rest of your application:
//!     let store = EventStore::new(pool);
//!
//!     // Or a pool of its own, with defaults (10 connections, 30 s acquire timeout, ...):
//!     let store = EventStore::connect("postgres://postgres@127.0.0.1:55432/angzarr").await?;
//!
//!     // Or tuned:
//!     let store = EventStore::builder()
//!         .with_max_connections(20)
//!         .with_statement_timeout(Some(Duration::from_secs(30)))
//!         .connect("postgres://postgres@127.0.0.1:55432/angzarr")
//!         .await?;
//!     store.install().await?; // CREATE EXTENSION IF NOT EXISTS, race-safe
//!     Ok(())
//! }
//! ```
//!
//! Every operation takes where to run as its first argument, a [`Db`]: `store.pool()` (or any
//! `&PgPool`) to run and commit on its own, or `&mut tx` / `&mut *tx` to run inside your own
//! transaction together with your other writes (a rollback undoes it). There is one method per
//! operation, never a second "in transaction" copy, and the futures are `Send` either way, so
//! they run inside `tokio::spawn` and web handlers.
//!
//! ## Append
//!
//! ```rust,no_run
//! use angzarr_store_client::{AggregateId, Append, EventStore, Expected, NewEvent};
//! use uuid::Uuid;
//!
//! #[derive(serde::Serialize)]
//! struct Deposited { amount: i64 }
//!
//! async fn append(store: &EventStore, account: Uuid, other: Uuid) -> angzarr_store_client::Result<()> {
//!     let (account, other) = (AggregateId::new("account", account), AggregateId::new("account", other));
//!     // A new aggregate: Expected::New fails if it already has events.
//!     let appended = store
//!         .append(store.pool(), &Append::new(account.clone(), Expected::New)
//!             .event(NewEvent::json("Opened", &serde_json::json!({"owner": "ann"}))?)
//!             .event(NewEvent::json("Deposited", &Deposited { amount: 100 })?))
//!         .await?;
//!     assert_eq!((appended.first_sequence, appended.last_sequence), (0, 1));
//!
//!     // Expected::Next(n): the writer saw exactly n events. A stale n is Error::SequenceConflict.
//!     let next = Expected::Next(appended.next_sequence());
//!     store
//!         .append(store.pool(), &Append::new(account.clone(), next)
//!             .correlation_id("order-17")
//!             .idempotency_key("command-8f2e") // a repeat returns the same sequences, writes nothing
//!             .event(NewEvent::json("Deposited", &Deposited { amount: 5 })?))
//!         .await?;
//!
//!     // Several aggregates atomically, inside your transaction:
//!     let mut tx = store.pool().begin().await?;
//!     store
//!         .append_many(&mut *tx, &[
//!             Append::new(account, Expected::Next(3))
//!                 .event(NewEvent::json("Withdrawn", &Deposited { amount: 20 })?),
//!             // Expected::Any: no check (only for writers that decide on nothing loaded).
//!             Append::new(other, Expected::Any)
//!                 .event(NewEvent::json("Deposited", &Deposited { amount: 20 })?),
//!         ])
//!         .await?;
//!     tx.commit().await?;
//!     Ok(())
//! }
//! ```
//!
//! Your event enum can map itself to types and payloads: mark a serde enum with [`JsonEvent`]
//! (the variant name is the event type) or declare an enum of protobuf messages with
//! [`prost_events!`]; then `NewEvent::from_domain(&event)` and `recorded.decode::<MyEvent>()`,
//! where a type the enum does not know is [`Error::UnknownEventType`].
//!
//! Payloads are bytes. [`NewEvent::json`] / [`RecordedEvent::json`] use serde JSON;
//! [`NewEvent::message`] / [`RecordedEvent::message`] pack protobuf messages the way angzarr does
//! (`google.protobuf.Any`: the type URL is the event type), and [`Append::to_event_book`],
//! [`EventStore::append_event_book`] and [`EventStore::read_event_book`] speak angzarr's
//! `EventBook` ([`proto`]).
//!
//! ## Read
//!
//! [`EventStore::read_stream`] is an async stream that fetches one page (1000 events by
//! default) per round trip, so an aggregate of any length never sits in memory at once:
//!
//! ```rust,no_run
//! use angzarr_store_client::{AggregateId, EventStore, ReadStream, Snapshots};
//! use futures_util::TryStreamExt;
//!
//! async fn read(store: &EventStore, account: uuid::Uuid) -> angzarr_store_client::Result<()> {
//!     let account = AggregateId::new("account", account); // .in_edition("what-if") for another timeline
//!     let mut events = store.read_stream(store.pool(), ReadStream::new(account.clone()).from(0));
//!     while let Some(event) = events.try_next().await? {
//!         println!("{} {} {:?}", event.sequence, event.event_type, event.correlation_id);
//!     }
//!     // Snapshot + the events after it, in one read:
//!     let loaded = store.load_aggregate(store.pool(), &account, Snapshots::Use).await?;
//!     println!("next sequence {}", loaded.next_sequence());
//!     Ok(())
//! }
//! ```
//!
//! ## Retry
//!
//! [`RetryPolicy::run`] runs a command (load, decide, append) again after a sequence conflict or
//! a transient error (serialization failure 40001, deadlock 40P01, lost connection), with
//! exponential backoff and full jitter, at most `max_attempts` times (default 10). Anything else,
//! such as your own business errors, is returned at once.
//!
//! ```rust,no_run
//! use angzarr_store_client::{AggregateId, Append, EventStore, NewEvent, RetryPolicy, Snapshots};
//!
//! async fn deposit(store: &EventStore, account: uuid::Uuid) -> angzarr_store_client::Result<()> {
//!     let account = AggregateId::new("account", account);
//!     RetryPolicy::default()
//!         .run(|_attempt| async {
//!             let loaded = store.load_aggregate(store.pool(), &account, Snapshots::Use).await?;
//!             // ... rebuild the state from loaded.snapshot and loaded.events, decide ...
//!             store
//!                 .append(store.pool(), &Append::new(account.clone(), loaded.expected())
//!                     .event(NewEvent::json("Deposited", &10)?))
//!                 .await
//!         })
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! ## Projections: the runner
//!
//! [`EventStore::projection`] follows the feed for one consumer and applies each batch of
//! events together with the consumer's checkpoint in one transaction, so the read model sees
//! every event exactly once: copies of the same consumer fence each other off (one leads, the
//! others stand by), lost connections and server restarts are waited out, an event the handler
//! keeps failing on is stopped at, parked in your table or skipped ([`PoisonPolicy`]), and
//! [`ProjectionRunner::caught_up`] tells a readiness probe when the read model is current.
//!
//! ```rust,no_run
//! use angzarr_store_client::{handler_fn, EventStore, FeedQuery, PoisonPolicy};
//!
//! async fn balances(store: EventStore) -> Result<(), Box<dyn std::error::Error>> {
//!     let runner = store
//!         .projection("balances", FeedQuery::new().domains(["account"]))
//!         .with_poison_policy(PoisonPolicy::Park { table: "app.parked_events".into() });
//!     let mut ready = runner.caught_up(); // e.g. for a /ready endpoint
//!     tokio::spawn(async move {
//!         ready.wait_for(|caught_up| *caught_up).await.ok();
//!         println!("balances are current");
//!     });
//!     runner
//!         .run_until(
//!             handler_fn(|item, tx| Box::pin(async move {
//!                 let amount: i64 = item.event.json()?;
//!                 sqlx::query("INSERT INTO app.balances (account, balance) VALUES ($1, $2)
//!                              ON CONFLICT (account) DO UPDATE SET balance = balances.balance + $2")
//!                     .bind(item.event.root)
//!                     .bind(amount)
//!                     .execute(&mut *tx) // the runner's transaction: committed with the checkpoint
//!                     .await?;
//!                 Ok(())
//!             })),
//!             async { tokio::signal::ctrl_c().await.ok(); },
//!         )
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! A consumer group splits the feed by aggregate: run `FeedQuery::new().member(m, n)` for each
//! `m` in `0..n`; each member has its own checkpoint and lease (`"balances/0-of-3"`, ...).
//! Stateful handlers implement [`Handler`] instead of using [`handler_fn`].
//!
//! ## Follow the feed by hand
//!
//! [`EventStore::tail_feed`] streams every committed event in feed order from a checkpoint,
//! then waits for more: it wakes on `NOTIFY angzarr_events` (sessions opened by
//! [`EventStore::builder`] set `angzarr.notify = on`) and polls as a fallback; lost connections
//! and pool timeouts are retried inside the stream. For read models prefer the runner above: it
//! does the fencing and checkpointing a hand-written loop easily gets wrong.
//!
//! ```rust,no_run
//! use angzarr_store_client::{EventStore, FeedQuery};
//! use futures_util::TryStreamExt;
//!
//! async fn audit(store: &EventStore) -> angzarr_store_client::Result<()> {
//!     let start = store.get_feed_position(store.pool(), "audit").await?.checkpoint;
//!     let mut feed = store.tail_feed(FeedQuery::new().after(start).domains(["account"]));
//!     while let Some(item) = feed.try_next().await? {
//!         println!("{} {}", item.event.root, item.event.event_type); // an at-least-once effect
//!         let _ = store.save_feed_position(store.pool(), "audit", item.checkpoint).await?;
//!     }
//!     Ok(())
//! }
//! ```
//!
//! ## The API at a glance
//!
//! | SQL | client |
//! | --- | --- |
//! | `append_events` | [`EventStore::append`] |
//! | `expected_sequences` + `INSERT` | [`EventStore::append_many`] |
//! | `read_stream` | [`EventStore::read_stream`] (paged async stream) |
//! | `read_as_of_sequence`, `read_as_of_time` | [`EventStore::read_as_of_sequence`], [`EventStore::read_as_of_time`] |
//! | `load_aggregate` | [`EventStore::load_aggregate`] |
//! | `put_snapshot`, `get_snapshot`, `delete_snapshots` | [`EventStore::put_snapshot`], [`EventStore::get_snapshot`], [`EventStore::delete_snapshots`] |
//! | `save_position`, `get_position`, `reset_positions` | [`EventStore::save_position`], [`EventStore::get_position`], [`EventStore::reset_positions`] |
//! | `read_feed`, `feed_horizon` | [`EventStore::read_feed`], [`EventStore::feed_horizon`], [`EventStore::tail_feed`] |
//! | `save_feed_position`, `get_feed_position`, `feed_member` | [`EventStore::save_feed_position`], [`EventStore::get_feed_position`], [`EventStore::feed_member`] |
//! | `create_edition`, `discard_edition`, `list_editions` | [`EventStore::create_edition`], [`EventStore::discard_edition`], [`EventStore::list_editions`] |
//! | `read_correlation`, `read_correlation_books` | [`EventStore::read_correlation`], [`EventStore::read_correlation_books`] |
//! | `list_domains`, `list_roots`, `next_sequence` | [`EventStore::list_domains`], [`EventStore::list_roots`], [`EventStore::next_sequence`] |
//! | `append_event_book`, `read_event_book`, `event_book_to_json` | [`EventStore::append_event_book`], [`EventStore::read_event_book`], [`EventStore::event_book_to_json`] |
//! | `read_feed` + `save_feed_position` in one transaction, fenced | [`EventStore::projection`] → [`ProjectionRunner`] |
//! | `pg_extension` | [`EventStore::ping`], [`EventStore::check_extension`] |
//! | `feed_lag`, `check_integrity` | [`EventStore::feed_lag`], [`EventStore::check_integrity`] |
//! | `aggregate_lock_key`, `show_stream` | [`EventStore::aggregate_lock_key`], [`EventStore::show_stream`] |
//!
//! ## Errors
//!
//! One enum, [`Error`]. Server errors are mapped in one place by SQLSTATE:
//! `ZA001` → [`Error::SequenceConflict`] `{ domain, edition, root, expected, actual }`,
//! `ZA002` → [`Error::Immutable`], `ZA003` → [`Error::ProtectedEdition`], `ZA004` →
//! [`Error::SnapshotBeyondHead`], `23505` → [`Error::AlreadyExists`], `55000` →
//! [`Error::InvalidState`], `22xxx`/`23502`/`23514` → [`Error::InvalidArgument`], `42883` on an
//! `angzarr.` function → [`Error::Unsupported`]; everything else is [`Error::Database`]
//! ([`Error::sqlstate`] gives the code). [`Error::is_retryable`] is what [`RetryPolicy`] asks.
//!
//! ## Observability
//!
//! Each operation runs in a `tracing` span named `angzarr.<operation>` with the aggregate's
//! `domain`, `edition` and `root` and the number of `events` where it applies, and records its
//! error; payloads are never recorded.
//!
//! ## Metrics
//!
//! With feature `metrics`, the client counts appends, appended events, sequence
//! conflicts, retries, transient errors waited out, and per projection consumer the events
//! committed, the events moved past as poison and the lag of the newest one, through the
//! [`metrics`](https://docs.rs/metrics) facade: install any recorder (Prometheus, StatsD, ...)
//! to export them. Names: `angzarr_client_appends_total`,
//! `angzarr_client_appended_events_total`, `angzarr_client_conflicts_total`,
//! `angzarr_client_retries_total`, `angzarr_client_transient_errors_total{component}`,
//! `angzarr_client_projection_events_total{consumer}`,
//! `angzarr_client_projection_poisoned_total{consumer}`,
//! `angzarr_client_projection_lag_seconds{consumer}`. A health check for probes is
//! [`EventStore::ping`].
//!
//! ## Testing your application
//!
//! Write command handlers against [`AggregateStore`] (load an aggregate, append a decision):
//! [`EventStore`] implements it, and so does [`InMemoryStore`], which keeps the server's
//! sequence, conflict, idempotency and edition rules in memory for unit tests without a server
//! (the client's contract tests run against both). For integration tests, feature `testing`
//! gives each test a database of its own with the extension, dropped at the end:
//! `testing::TestDatabase::create(url)`.
//!
//! ## Example and tests
//!
//! Examples, each run with `DATABASE_URL` set (`cargo run -p angzarr_store_client --example
//! NAME`): `bank_account` (commands decided on loaded state, racing tellers retried, an atomic
//! transfer, a hand-written projector that keeps its checkpoint), `projector` (the projection
//! runner with a consumer group, standbys, readiness and shutdown), `editions` (a what-if
//! branch written, read and discarded) and `web_handler` (an axum handler that loads, decides,
//! appends and writes an outbox row in one transaction; conflicts become HTTP 409). The integration tests in `client/tests/` run
//! against a real server: `ANGZARR_TEST_DATABASE_URL=postgres://... cargo test -p
//! angzarr_store_client` (default `postgres://postgres@127.0.0.1:55432/angzarr_test`).

// The book's and the README's Rust snippets, compiled as doc tests of this crate so that they
// cannot drift from the API (the files live outside the crate, so only under cfg(doctest)).
#[cfg(doctest)]
#[doc = include_str!("../../docs/src/client.md")]
struct BookClientPage;
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct Readme;
#[cfg(doctest)]
#[doc = include_str!("../../docs/src/operations/failover.md")]
struct BookFailoverPage;
#[cfg(doctest)]
#[doc = include_str!("../../docs/src/operations/replicas.md")]
struct BookReplicasPage;
#[cfg(doctest)]
#[doc = include_str!("../../docs/src/operations/sharding.md")]
struct BookShardingPage;

mod aggregate;
mod append;
mod builder;
mod correlation;
mod db;
mod discovery;
mod editions;
mod error;
mod event;
mod event_book;
mod feed;
mod hosts;
mod load;
mod memory;
mod ops;
mod positions;
mod projection;
mod read;
mod retry;
mod shard;
mod shard_feed;
mod snapshots;
mod store;
mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
mod typed;

pub use aggregate::AggregateId;
pub use append::{Append, Appended, Expected};
pub use builder::EventStoreBuilder;
pub use correlation::ShownEvent;
pub use db::Db;
pub use editions::{EditionInfo, NewEdition};
pub use error::{
    Error, Result, SQLSTATE_IMMUTABLE, SQLSTATE_PROTECTED_EDITION, SQLSTATE_SEQUENCE_CONFLICT,
    SQLSTATE_SNAPSHOT_BEYOND_HEAD,
};
pub use event::{NewEvent, RecordedEvent, MAIN_EDITION};
pub use event_book::{cover_root, proto_uuid};
pub use feed::{Checkpoint, CheckpointSaved, FeedEvent, FeedPosition, FeedQuery, NOTIFY_CHANNEL};
pub use hosts::TargetSession;
pub use load::{LoadedAggregate, LoadedEvent, Snapshots};
pub use memory::{AggregateStore, InMemoryStore};
pub use ops::{FeedLag, IntegrityProblem};
pub use positions::ResetScope;
pub use projection::{
    handler_fn, FnHandler, Handler, HandlerError, PoisonPolicy, ProjectionError, ProjectionRunner,
    SkipCallback,
};
#[doc(hidden)]
pub use prost_types as __prost_types;
pub use read::ReadStream;
pub use retry::{RetryPolicy, Retryable};
pub use shard::{shard_hash, shard_index, ShardedStore};
pub use shard_feed::{ShardCheckpoints, ShardFeedEvent, ShardedProjection};
pub use snapshots::{PutSnapshot, Retention, Snapshot, SnapshotPut};
pub use store::{EventStore, Health, SUPPORTED_EXTENSION_VERSIONS};
#[doc(hidden)]
pub use typed::__is_message;
pub use typed::{DomainEvent, JsonEvent};

/// angzarr's storage messages (EventBook, EventPage, Cover, ...), re-exported.
pub use angzarr_store_proto as proto;
/// The sqlx this client is built on, re-exported so your pool, transactions and queries use
/// exactly its version: `angzarr_store_client::sqlx::PgPool`.
pub use sqlx;
