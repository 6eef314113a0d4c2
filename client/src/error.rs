//! The client's one error type, and the one function that turns database errors into it.

use std::borrow::Cow;

use uuid::Uuid;

/// SQLSTATE of a stale expected sequence (see the extension's `src/errors.rs`).
pub const SQLSTATE_SEQUENCE_CONFLICT: &str = "ZA001";
/// SQLSTATE of an attempt to change or delete history.
pub const SQLSTATE_IMMUTABLE: &str = "ZA002";
/// SQLSTATE of an attempt to create or discard the main edition.
pub const SQLSTATE_PROTECTED_EDITION: &str = "ZA003";
/// SQLSTATE of a snapshot put beyond the aggregate's last event.
pub const SQLSTATE_SNAPSHOT_BEYOND_HEAD: &str = "ZA004";
/// SQLSTATE of a second write in one transaction through a sharding router.
pub const SQLSTATE_CROSS_SHARD: &str = "ZA101";
/// SQLSTATE of a per-shard function (the feed) called through a sharding router.
pub const SQLSTATE_PER_SHARD: &str = "ZA102";

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Optimistic concurrency failed: someone appended to the aggregate since the caller loaded
    /// it. Reload and decide again (see [`RetryPolicy`](crate::RetryPolicy)).
    #[error(
        "sequence conflict on aggregate {domain}/{root} in edition \"{edition}\": \
         expected next sequence {expected}, actual next sequence {actual}"
    )]
    SequenceConflict {
        /// The aggregate's domain.
        domain: String,
        /// The edition (timeline) written to; `angzarr` is the main one.
        edition: String,
        /// The aggregate's root.
        root: Uuid,
        /// The next sequence the writer expected.
        expected: i64,
        /// The aggregate's actual next sequence.
        actual: i64,
    },

    /// The database has no `angzarr_store` extension.
    #[error(
        "the angzarr_store extension is not installed in this database; run \
         `CREATE EXTENSION angzarr_store;` as a superuser (or call EventStore::install())"
    )]
    NotInstalled,

    /// The installed extension's version is outside what this client supports.
    #[error(
        "angzarr_store extension version {installed} is installed, but this client needs {supported}; \
         run `ALTER EXTENSION angzarr_store UPDATE;` (or use a client release that matches)"
    )]
    IncompatibleVersion {
        /// `pg_extension.extversion`.
        installed: String,
        /// The range this client works with, e.g. `>= 0.2.0, < 0.3.0`.
        supported: &'static str,
    },

    /// The installed extension lacks a function this call needs (an older build).
    #[error("{message}; run `ALTER EXTENSION angzarr_store UPDATE;` to get the missing function")]
    Unsupported {
        /// The server's message, naming the missing function.
        message: String,
    },

    /// Events are immutable: the database refused an UPDATE, DELETE or TRUNCATE of history.
    #[error("history is immutable: {message}")]
    Immutable {
        /// The server's message.
        message: String,
    },

    /// The main edition `angzarr` cannot be created or discarded.
    #[error("{message}")]
    ProtectedEdition {
        /// The server's message.
        message: String,
    },

    /// A snapshot was put at a sequence the aggregate has not reached.
    #[error("{message}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    SnapshotBeyondHead {
        /// The server's message, naming the aggregate.
        message: String,
        /// The aggregate's last sequence, as the server said.
        detail: Option<String>,
    },

    /// What is being created exists already (e.g. an edition of that name).
    #[error("{message}")]
    AlreadyExists {
        /// The server's message.
        message: String,
    },

    /// The request does not fit the current state (e.g. creating an edition that already has
    /// events).
    #[error("{message}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    InvalidState {
        /// The server's message.
        message: String,
        /// Why, as the server said.
        detail: Option<String>,
    },

    /// A sharded store refused a write that would need a transaction across shards, or a
    /// second write in one transaction through the router (where each call commits on its own).
    #[error("{message}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    CrossShard {
        /// What was refused.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },

    /// A per-shard function (the feed) was called through a sharding router.
    #[error("{message}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    PerShard {
        /// What was refused.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },

    /// The server or the client refused an argument (a bad name, a negative sequence, an
    /// empty batch, ...). Fix the call; retrying will not help.
    #[error("invalid argument: {message}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    InvalidArgument {
        /// What was wrong.
        message: String,
        /// What to do instead, when the server said.
        hint: Option<String>,
    },

    /// A payload could not be encoded or decoded as JSON.
    #[error("JSON payload: {0}")]
    Json(#[from] serde_json::Error),

    /// A payload could not be decoded as the protobuf message asked for.
    #[error("protobuf payload: {0}")]
    Protobuf(#[from] prost::DecodeError),

    /// A payload's type is not the one asked for.
    #[error("event type mismatch: expected {expected}, found {actual}")]
    TypeMismatch {
        /// The type the caller asked to decode.
        expected: String,
        /// The event's stored type.
        actual: String,
    },

    /// A stored event's type is not one the application's event type knows (see
    /// [`DomainEvent`](crate::DomainEvent)): written by a newer version, or by someone else.
    #[error("unknown event type {event_type:?}")]
    UnknownEventType {
        /// The stored type.
        event_type: String,
    },

    /// A protobuf message could not be encoded.
    #[error("protobuf encoding: {0}")]
    ProtobufEncode(#[from] prost::EncodeError),

    /// Any other database or connection error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

/// A `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    #[doc(hidden)]
    pub fn from_encode(e: prost::EncodeError) -> Self {
        Error::ProtobufEncode(e)
    }

    /// An [`Error::InvalidArgument`] raised by the client itself.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            message: message.into(),
            hint: None,
        }
    }

    /// The SQLSTATE the server reported, if this came from the server.
    pub fn sqlstate(&self) -> Option<Cow<'_, str>> {
        match self {
            Error::SequenceConflict { .. } => Some(Cow::Borrowed(SQLSTATE_SEQUENCE_CONFLICT)),
            Error::Immutable { .. } => Some(Cow::Borrowed(SQLSTATE_IMMUTABLE)),
            Error::ProtectedEdition { .. } => Some(Cow::Borrowed(SQLSTATE_PROTECTED_EDITION)),
            Error::SnapshotBeyondHead { .. } => Some(Cow::Borrowed(SQLSTATE_SNAPSHOT_BEYOND_HEAD)),
            Error::AlreadyExists { .. } => Some(Cow::Borrowed("23505")),
            Error::InvalidState { .. } => Some(Cow::Borrowed("55000")),
            Error::Database(e) => e.as_database_error().and_then(|d| d.code()),
            _ => None,
        }
    }

    /// True for errors that may go away when the same work is tried again: sequence
    /// conflicts (after reloading), serialization failures (40001), deadlocks (40P01) and lost
    /// connections. Everything else is false.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::SequenceConflict { .. } => true,
            Error::Database(e) => is_transient(e),
            _ => false,
        }
    }
}

impl Error {
    /// True for failures of the connection or the server that say nothing about the work
    /// itself: a lost or refused connection, a server shutting down or restarting, a pool
    /// that had no free connection in time, serialization failures and deadlocks. A feed tail
    /// and a projection runner wait and try again on these, forever; unlike
    /// [`is_retryable`](Self::is_retryable) a sequence conflict is not one of them, and a pool
    /// timeout is (a long-running reader waits for a connection, while a command retried on
    /// pool timeouts would only add load).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Database(e) => sqlx_is_transient(e),
            _ => false,
        }
    }
}

/// [`Error::is_transient`] for a raw sqlx error.
pub(crate) fn sqlx_is_transient(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::PoolTimedOut) || (is_transient(err) && !is_conflict(err))
}

fn is_conflict(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == SQLSTATE_SEQUENCE_CONFLICT)
}

/// Serialization failures, deadlocks and connection losses.
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => {
                let code = code.as_ref();
                code == "40001"
                    || code == "40P01"
                    || code == SQLSTATE_SEQUENCE_CONFLICT
                    // connection_exception and its subclasses
                    || code.starts_with("08")
                    // admin_shutdown, crash_shutdown, cannot_connect_now
                    || matches!(code, "57P01" | "57P02" | "57P03")
            }
            None => false,
        },
        _ => false,
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        map_db_error(err)
    }
}

/// The one place where a SQLSTATE becomes a domain error.
pub(crate) fn map_db_error(err: sqlx::Error) -> Error {
    let Some(db) = err.as_database_error() else {
        return Error::Database(err);
    };
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let message = db.message().to_string();
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
    let detail = pg.and_then(|p| p.detail()).map(str::to_string);
    let hint = pg.and_then(|p| p.hint()).map(str::to_string);
    match code.as_str() {
        SQLSTATE_SEQUENCE_CONFLICT => {
            crate::telemetry::conflict();
            match parse_conflict(&message, detail.as_deref()) {
                Some(conflict) => conflict,
                None => Error::Database(err),
            }
        }
        SQLSTATE_IMMUTABLE => Error::Immutable { message },
        SQLSTATE_PROTECTED_EDITION => Error::ProtectedEdition { message },
        SQLSTATE_SNAPSHOT_BEYOND_HEAD => Error::SnapshotBeyondHead { message, detail },
        SQLSTATE_CROSS_SHARD => Error::CrossShard { message, hint },
        SQLSTATE_PER_SHARD => Error::PerShard { message, hint },
        "23505" => Error::AlreadyExists { message },
        "55000" => Error::InvalidState { message, detail },
        // data_exception (bad values, bad protobuf bytes, ...), not_null_violation,
        // check_violation
        c if c.starts_with("22") || c == "23502" || c == "23514" => {
            Error::InvalidArgument { message, hint }
        }
        // undefined_function: the installed extension predates this call
        "42883" if message.contains("angzarr.") => Error::Unsupported { message },
        _ => Error::Database(err),
    }
}

/// The one place a ZA001 error becomes [`Error::SequenceConflict`]. From 0.2.0 the extension
/// puts the facts in DETAIL as JSON (`{"domain": ..., "edition": ..., "root": ..., "expected":
/// N, "actual": M}`); the 0.1.0 extension wrote them as text, `sequence conflict on aggregate
/// {domain}/{root} in edition "{edition}"` with DETAIL `expected next sequence {expected},
/// actual next sequence {actual}`, which is still understood. `None` when neither fits.
fn parse_conflict(message: &str, detail: Option<&str>) -> Option<Error> {
    // A PL/Proxy router passes the shard's DETAIL on behind this prefix.
    let detail = detail?;
    let detail = detail.strip_prefix("Remote detail: ").unwrap_or(detail);
    conflict_from_json(detail).or_else(|| conflict_from_text(message, detail))
}

fn conflict_from_json(detail: &str) -> Option<Error> {
    let serde_json::Value::Object(facts) = serde_json::from_str(detail).ok()? else {
        return None;
    };
    let text = |key: &str| facts.get(key)?.as_str().map(str::to_string);
    Some(Error::SequenceConflict {
        domain: text("domain")?,
        edition: text("edition")?,
        root: Uuid::parse_str(facts.get("root")?.as_str()?).ok()?,
        expected: facts.get("expected")?.as_i64()?,
        actual: facts.get("actual")?.as_i64()?,
    })
}

fn conflict_from_text(message: &str, detail: &str) -> Option<Error> {
    let rest = message.strip_prefix("sequence conflict on aggregate ")?;
    let (aggregate, edition) = rest.rsplit_once(" in edition \"")?;
    let edition = edition.strip_suffix('"')?;
    let (domain, root) = aggregate.rsplit_once('/')?;
    let root = Uuid::parse_str(root).ok()?;
    let (expected, actual) = detail.split_once(", ")?;
    let expected = expected
        .strip_prefix("expected next sequence ")?
        .trim()
        .parse()
        .ok()?;
    let actual = actual
        .strip_prefix("actual next sequence ")?
        .trim()
        .parse()
        .ok()?;
    Some(Error::SequenceConflict {
        domain: domain.to_string(),
        edition: edition.to_string(),
        root,
        expected,
        actual,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_message_and_detail_parse() {
        let root = "0b5f3e1c-3c5e-4f43-9f7e-2a3d1f0e4b7a";
        let msg = format!("sequence conflict on aggregate player/{root} in edition \"what if\"");
        let parsed = parse_conflict(
            &msg,
            Some("expected next sequence 3, actual next sequence 15"),
        )
        .unwrap();
        match parsed {
            Error::SequenceConflict {
                domain,
                edition,
                root: r,
                expected,
                actual,
            } => {
                assert_eq!(domain, "player");
                assert_eq!(edition, "what if");
                assert_eq!(r.to_string(), root);
                assert_eq!((expected, actual), (3, 15));
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(parse_conflict(&msg, None).is_none());

        // 0.2.0: the facts are JSON in DETAIL, whatever the message says.
        let json = format!(
            r#"{{"domain": "player", "edition": "what if", "root": "{root}", "expected": 3, "actual": 15}}"#
        );
        match parse_conflict("sequence conflict: expected 3, actual 15", Some(&json)) {
            Some(Error::SequenceConflict {
                domain,
                edition,
                root: r,
                expected,
                actual,
            }) => {
                assert_eq!((domain.as_str(), edition.as_str()), ("player", "what if"));
                assert_eq!(r.to_string(), root);
                assert_eq!((expected, actual), (3, 15));
            }
            other => panic!("parsed as {other:?}"),
        }
        // JSON missing a field, or not an object: not a conflict we can describe.
        assert!(parse_conflict("x", Some(r#"{"domain": "p"}"#)).is_none());
        assert!(parse_conflict("x", Some("[1, 2]")).is_none());
        assert!(parse_conflict("something else", Some("x")).is_none());
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        assert!(!Error::NotInstalled.is_retryable());
        assert!(!Error::invalid("x").is_retryable());
        assert!(Error::Database(sqlx::Error::Io(std::io::Error::other("reset"))).is_retryable());
        assert!(!Error::Database(sqlx::Error::RowNotFound).is_retryable());
        assert!(!Error::Database(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(Error::Database(sqlx::Error::PoolTimedOut).is_transient());
        assert!(Error::Database(sqlx::Error::Io(std::io::Error::other("reset"))).is_transient());
        assert!(!Error::Database(sqlx::Error::RowNotFound).is_transient());
        assert!(!Error::invalid("x").is_transient());
    }
}
