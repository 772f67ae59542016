//! The one error type of the crate.
//!
//! Every failure is typed so that callers can tell a dead Redis from a corrupt record from
//! their own bad input. Messages name keys and fields, never values: a value may be a secret.

use std::fmt;

/// Result alias used by every operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Redis could not be reached, or the connection broke mid-operation.
    #[error("redis connection failed: {reason}")]
    Connection {
        /// What the client reported, and where (`host:port`; never the URL's password).
        reason: String,
    },
    /// Redis did not answer within the configured timeout or the call's deadline
    /// ([`StorageConfig::call_timeout`](crate::StorageConfig::call_timeout)), or was still
    /// loading its data after a restart.
    #[error("redis did not answer in time: {reason}")]
    Timeout {
        /// What the client reported, and where.
        reason: String,
    },
    /// Redis refused the credentials (a wrong password or ACL user).
    #[error("redis refused the credentials: {reason}")]
    Auth {
        /// What the server reported (never the password).
        reason: String,
    },
    /// The server is a read-only replica: writes go to the master (after a failover, to the
    /// new one).
    #[error("redis is a read-only replica: {reason}")]
    ReadOnly {
        /// What the server reported.
        reason: String,
    },
    /// The connection broke after a write that must not run twice (consuming a code,
    /// rotating a refresh token, taking a lock, creating a record) was sent and before Redis
    /// answered: it may or may not have been applied, so it was not retried. Read to find
    /// out which.
    #[error(
        "the write's outcome is unknown: the connection broke before Redis answered: {reason}"
    )]
    OutcomeUnknown {
        /// What the client reported.
        reason: String,
    },
    /// The write is applied on the master, but fewer replicas than
    /// [`StorageConfig::min_replicas`](crate::StorageConfig::min_replicas) confirmed it in
    /// time: a failover now could lose it.
    #[error("the write reached {acknowledged} of {wanted} replicas in time")]
    NotReplicated {
        /// Replicas that confirmed the write.
        acknowledged: u32,
        /// Replicas the configuration asks for.
        wanted: u32,
    },
    /// A key holds another Redis type than this crate keeps there (a hash where a JSON string
    /// or a set belongs): something else wrote it. Nothing was changed.
    #[error("key `{key}` holds another Redis type than expected")]
    WrongType {
        /// The key.
        key: String,
    },
    /// The async API was called where it cannot run: outside a tokio runtime, or on one
    /// built without its IO or time driver. Nothing was sent.
    #[error("the async storage cannot run here: {reason}")]
    Runtime {
        /// What is missing and how to provide it.
        reason: String,
    },
    /// Redis answered with an error.
    #[error("redis error: {reason}")]
    Redis {
        /// What the server or client reported.
        reason: String,
    },
    /// Redis answered, but with a reply this crate's own commands cannot produce: a bug,
    /// something other than this crate's scripts answering, or something other than Redis
    /// listening at the address (which the reason names).
    #[error("reply makes no sense: {reason}")]
    Protocol {
        /// What was expected and what came.
        reason: String,
    },
    /// The operating system gave no randomness for a new secret; nothing was written.
    #[error("no randomness from the operating system: {reason}")]
    Randomness {
        /// What the operating system reported.
        reason: String,
    },
    /// The live configuration's file could not be read back or written. A file that cannot
    /// be served is left where it is, untouched.
    #[error("live configuration file `{path}`: {reason}")]
    SnapshotFile {
        /// The file.
        path: String,
        /// Why it could not be used.
        reason: String,
    },
    /// A stored record could not be decoded or fails validation. It is left untouched.
    #[error("corrupt record at key `{key}`: {reason}")]
    Corrupt {
        /// The Redis key holding the record.
        key: String,
        /// Why it could not be used.
        reason: String,
    },
    /// Input rejected before anything was written.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field (or argument) that failed validation.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The write collides with a record another writer owns; nothing was written.
    #[error("conflict at key `{key}`: already owned by `{owner}`")]
    Conflict {
        /// The key that is already taken.
        key: String,
        /// Who holds it (a route id, a hostname).
        owner: String,
    },
    /// The record is a default the gateway needs and cannot be deleted: the `localhost`
    /// proxy, whose excluded paths keep OAuth's own endpoints (`/token`) reachable without
    /// a token. Change it instead; nothing was written.
    #[error("`{key}` is a default record the gateway needs: change it, it cannot be deleted")]
    Required {
        /// The record's key.
        key: String,
    },
    /// The operation needs a record that does not exist.
    #[error("no record at key `{key}`")]
    NotFound {
        /// The key that was looked up.
        key: String,
    },
    /// The write carried a fencing token older than the newest its lock issued: a newer holder
    /// has taken over, so nothing was written.
    #[error("write refused: fencing token {token} of lock `{lock}` is older than {newest}")]
    Fenced {
        /// The lock's name.
        lock: String,
        /// The writer's token.
        token: u64,
        /// The newest token issued.
        newest: u64,
    },
    /// A lock was still held by someone else when the wait ran out.
    #[error("lock `{lock}` still held by another holder after waiting")]
    Locked {
        /// The lock's name.
        lock: String,
    },
    /// The lease ran out and someone else may hold the lock now.
    #[error("lock `{lock}` is no longer held by this holder")]
    LockLost {
        /// The lock's name.
        lock: String,
    },
    /// A read-modify-write kept losing its race to other writers and gave up.
    #[error("too much contention at key `{key}` after {attempts} attempts")]
    Contention {
        /// The key being updated.
        key: String,
        /// How many times it was tried.
        attempts: u32,
    },
    /// A rollback found records whose value is not the one its plan read: a writer changed
    /// them since the plan was made. Nothing
    /// was written, unless `written` says otherwise (a writer that raced the rollback
    /// itself). Forcing the rollback overwrites them.
    #[error("records changed since the rollback was planned: {}", keys.join(", "))]
    ChangedSince {
        /// The records' keys.
        keys: Vec<String>,
        /// How many records the rollback had already written when it met the change.
        written: usize,
    },
    /// The history no longer holds the changes after the revision asked for: it was trimmed
    /// by its retention (count or age), or Redis lost its data.
    #[error("revision {requested} is older than the history kept; the oldest is {oldest}")]
    HistoryTooShort {
        /// The revision asked for.
        requested: u64,
        /// The oldest revision the history can restore.
        oldest: u64,
    },
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl fmt::Display) -> Self {
        Error::Invalid {
            field,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn corrupt(key: &str, reason: impl fmt::Display) -> Self {
        Error::Corrupt {
            key: key.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// What kind of error this is, in one word of `snake_case` (`connection`, `timeout`,
    /// `corrupt`, `outcome_unknown`, ...): bounded and free of any value, so it is fit for a
    /// metric's label or a log field. The `error.type` of `db.client.operation.duration`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Connection { .. } => "connection",
            Error::Timeout { .. } => "timeout",
            Error::Auth { .. } => "auth",
            Error::ReadOnly { .. } => "read_only",
            Error::OutcomeUnknown { .. } => "outcome_unknown",
            Error::NotReplicated { .. } => "not_replicated",
            Error::WrongType { .. } => "wrong_type",
            Error::Runtime { .. } => "runtime",
            Error::Redis { .. } => "redis",
            Error::Protocol { .. } => "protocol",
            Error::Randomness { .. } => "randomness",
            Error::Corrupt { .. } => "corrupt",
            Error::SnapshotFile { .. } => "snapshot_file",
            Error::Invalid { .. } => "invalid",
            Error::Conflict { .. } => "conflict",
            Error::Required { .. } => "required",
            Error::NotFound { .. } => "not_found",
            Error::Fenced { .. } => "fenced",
            Error::Locked { .. } => "locked",
            Error::LockLost { .. } => "lock_lost",
            Error::Contention { .. } => "contention",
            Error::ChangedSince { .. } => "changed_since",
            Error::HistoryTooShort { .. } => "history_too_short",
        }
    }

    /// True for errors that a retry on a fresh connection can cure: Redis unreachable, or the
    /// connection broke. The same causes answer the same in both modes.
    pub fn is_connection_error(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }

    /// True when Redis did not answer in time (connecting or answering).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// True when Redis refused the credentials.
    pub fn is_auth_error(&self) -> bool {
        matches!(self, Error::Auth { .. })
    }

    /// True when the server is a read-only replica.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Error::ReadOnly { .. })
    }

    /// True when a write may or may not have been applied (see [`Error::OutcomeUnknown`]).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// True when a write is applied but fewer replicas than asked confirmed it.
    pub fn is_not_replicated(&self) -> bool {
        matches!(self, Error::NotReplicated { .. })
    }

    /// True when a key held another Redis type than expected.
    pub fn is_wrong_type(&self) -> bool {
        matches!(self, Error::WrongType { .. })
    }

    /// This error, with the address of what failed to answer (`host:port`) when it is about
    /// reaching Redis: a failed or timed-out connection, or something else answering there.
    pub(crate) fn at(self, address: &str) -> Self {
        let at = |reason: String| format!("{reason} (at {address})");
        match self {
            Error::Connection { reason } => Error::Connection { reason: at(reason) },
            Error::Timeout { reason } => Error::Timeout { reason: at(reason) },
            Error::Protocol { reason } => Error::Protocol { reason: at(reason) },
            other => other,
        }
    }

    /// This error, about `key`: a server's `WRONGTYPE` becomes [`Error::WrongType`] naming it.
    pub(crate) fn about(self, key: &str) -> Self {
        match self {
            Error::Redis { reason } if reason.contains("WRONGTYPE") => Error::WrongType {
                key: key.to_owned(),
            },
            other => other,
        }
    }
}

/// The code a server refused `error`'s call with (`READONLY`, `LOADING`, ...): its own, or
/// for an aborted transaction (`EXECABORT`) the code of the first command inside it that
/// was refused, which says why.
pub(crate) fn refusal_code(error: &redis::RedisError) -> Option<String> {
    let code = error.code()?;
    if code != "EXECABORT" {
        return Some(code.to_owned());
    }
    let inner = error.clone().into_server_errors();
    let first = inner.as_deref().and_then(|errors| errors.first());
    Some(first.map_or(code, |(_, error)| error.code()).to_owned())
}

impl From<redis::RedisError> for Error {
    fn from(error: redis::RedisError) -> Self {
        // RedisError's Display never includes the connection URL.
        let reason = error.to_string();
        let refusal = refusal_code(&error);
        let code = refusal.as_deref().unwrap_or_default();
        // The scripts report a key of the wrong type as `WRONGTYPE key=<key>` before writing.
        if let Some(key) = error.detail().and_then(|d| d.strip_prefix("key=")) {
            if code == "WRONGTYPE" {
                let key = key.split_whitespace().next().unwrap_or_default();
                return Error::WrongType {
                    key: key.to_owned(),
                };
            }
        }
        if error.kind() == redis::ErrorKind::AuthenticationFailed
            || matches!(code, "WRONGPASS" | "NOAUTH")
        {
            Error::Auth { reason }
        } else if code == "READONLY" || reason.contains("READONLY") {
            Error::ReadOnly { reason }
        } else if error.kind() == redis::ErrorKind::Parse {
            // The multi-line parser detail would quote what came instead.
            Error::Protocol {
                reason: "the answer is not in the Redis protocol: something other than Redis \
                         listens there"
                    .to_owned(),
            }
        } else if error.is_timeout() || code == "LOADING" {
            // A server still loading its data after a restart did not get ready in time.
            Error::Timeout { reason }
        } else if error.is_io_error()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
        {
            Error::Connection { reason }
        } else {
            Error::Redis { reason }
        }
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
