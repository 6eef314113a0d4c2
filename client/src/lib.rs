//! angzarr_store_client (front page written below).

mod append;
mod builder;
mod correlation;
mod discovery;
mod editions;
mod error;
mod event;
mod event_book;
mod feed;
mod load;
mod ops;
mod positions;
mod read;
mod retry;
mod snapshots;
mod store;

pub use append::{Append, Appended, Expected};
pub use builder::EventStoreBuilder;
pub use correlation::ShownEvent;
pub use editions::EditionInfo;
pub use error::{
    Error, Result, SQLSTATE_IMMUTABLE, SQLSTATE_PROTECTED_EDITION, SQLSTATE_SEQUENCE_CONFLICT,
    SQLSTATE_SNAPSHOT_BEYOND_HEAD,
};
pub use event::{NewEvent, RecordedEvent, MAIN_EDITION};
pub use event_book::{cover_root, proto_uuid};
pub use feed::{Checkpoint, FeedEvent, FeedPosition, FeedQuery, NOTIFY_CHANNEL};
pub use load::{LoadedAggregate, LoadedEvent};
pub use ops::{FeedLag, IntegrityProblem};
pub use read::ReadStream;
pub use retry::{RetryPolicy, Retryable};
pub use snapshots::{PutSnapshot, Retention, Snapshot};
pub use store::{EventStore, SUPPORTED_EXTENSION_VERSIONS};

/// angzarr's storage messages (EventBook, EventPage, Cover, ...), re-exported.
pub use angzarr_store_proto as proto;
