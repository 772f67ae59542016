//! What a storage tells about itself without the `metrics` feature: [`Stats`], its counters
//! as a plain struct, and [`Health`], what a readiness probe needs.
//!
//! Both are plain values, taken at one moment and shared by the handles of both modes on one
//! storage; the same figures go to the `metrics` facade with that feature (see
//! `storage::metrics`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::topology::Topology;

/// A storage's counters since it was made, over the handles of both modes.
///
/// ```text
/// let stats = storage.stats();
/// println!("{} operations, {} failed", stats.operations, stats.failed_operations);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Public operations that ended.
    pub operations: u64,
    /// Of those, the ones that failed.
    pub failed_operations: u64,
    /// Connections open now (the blocking pool's, the async mode's multiplexed one, the
    /// watchers' own).
    pub connections_open: u64,
    /// Of those, the ones a call holds now: a pooled blocking connection lent to a call,
    /// or a multiplexed one while any call is in flight on it.
    pub connections_in_use: u64,
    /// How long calls waited for a connection in all, opening one included.
    pub connection_wait: Duration,
    /// Calls sent again after a failure that left them unapplied, or whose repeat is
    /// harmless.
    pub resends: u64,
    /// Writes refused as [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    pub outcome_unknown: u64,
    /// Connections opened after a connection failed.
    pub reconnects: u64,
    /// Connections opened to another master than the one before (Sentinel, one server
    /// moved); a cluster's failovers are followed inside redis-rs and show as reconnects
    /// and resends.
    pub failovers: u64,
    /// Writes applied but confirmed by fewer replicas than asked.
    pub not_replicated: u64,
    /// Default records (`proxy:localhost`, the default routes) written because they were
    /// missing or lacked what they must hold, the first initialization included.
    pub defaults_reseeded: u64,
    /// Corrupt records met by reads, listings and backups.
    pub corrupt_records: u64,
    /// Times a watcher or the live configuration found that the feed had lost changes.
    pub feed_resyncs: u64,
    /// How far behind the newest change the last follower to read the feed was: zero when
    /// it was caught up. None until one has read it.
    pub feed_lag: Option<Duration>,
    /// The live configuration's revision, while one is kept.
    pub snapshot_revision: Option<u64>,
    /// How long since the live configuration last heard from Redis, while one is kept.
    pub snapshot_age: Option<Duration>,
}

/// What a readiness probe needs to know, from [`health`](crate::blocking::Storage::health).
/// Taking it never writes to Redis and never initializes the store.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Whether Redis answered `PING` within the call's deadline.
    pub connected: bool,
    /// Why not, when it did not: the error's text (it names an address, never a password).
    pub problem: Option<String>,
    /// The topology the storage reaches.
    pub topology: Topology,
    /// The master in use (`host:port`), where the topology names one: the server, or the
    /// master Sentinel named at the last connection. None on a cluster, and before the first
    /// connection.
    pub master: Option<String>,
    /// Whether a handle of either mode initialized the store (seeded the defaults).
    pub initialized: bool,
    /// When the defaults were last checked; None before the first check.
    pub defaults_checked_at: Option<SystemTime>,
    /// The live configuration, while one is kept.
    pub live: Option<LiveHealth>,
}

impl Health {
    /// Ready to serve: Redis answers and the store is initialized, and a live configuration
    /// kept is still followed.
    pub fn is_ready(&self) -> bool {
        self.connected && self.initialized && self.live.as_ref().is_none_or(|live| live.following)
    }
}

/// The live configuration's part of [`Health`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveHealth {
    /// The snapshot's revision.
    pub revision: u64,
    /// Whether its follower still runs.
    pub following: bool,
    /// When the follower last heard from Redis.
    pub heard_at: SystemTime,
    /// How long ago that was: how stale the snapshot may be.
    pub staleness: Duration,
    /// How far the follower was behind the newest change at its last read of the feed.
    pub lag: Option<Duration>,
    /// While it serves what its file held (Redis was away when it started), which file
    /// and revision that is; None once it has caught up with Redis.
    pub from_file: Option<StaleFile>,
    /// Why its file was not served at the start (damaged, another format or store), as
    /// [`LiveConfig::refused_file`](crate::LiveConfig::refused_file) says; None if it was,
    /// or there is none.
    pub refused_file: Option<String>,
}

/// A live configuration serving its last-known-good file until Redis answers: the file,
/// the revision it holds and when it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StaleFile {
    /// The file.
    pub path: PathBuf,
    /// The store revision it holds.
    pub revision: u64,
    /// When it was written.
    pub written_at: SystemTime,
}

impl StaleFile {
    /// How old what it holds is.
    pub fn age(&self) -> Duration {
        self.written_at.elapsed().unwrap_or_default()
    }
}
