//! angzarr_store_client (front page written below).

mod append;
mod builder;
mod discovery;
mod error;
mod event;
mod feed;
mod ops;
mod positions;
mod read;
mod retry;
mod store;

pub use append::{Append, Appended, Expected};
pub use builder::EventStoreBuilder;
pub use error::{Error, Result, SQLSTATE_IMMUTABLE, SQLSTATE_SEQUENCE_CONFLICT};
pub use event::{NewEvent, RecordedEvent, MAIN_EDITION};
pub use feed::{Checkpoint, FeedEvent, FeedPosition, FeedQuery, NOTIFY_CHANNEL};
pub use ops::{FeedLag, IntegrityProblem};
pub use read::ReadStream;
pub use retry::{RetryPolicy, Retryable};
pub use store::{EventStore, SUPPORTED_EXTENSION_VERSIONS};
