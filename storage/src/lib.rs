//! The Redis storage layer of the OAuth gateway, written once, served blocking and async.
//!
//! It keeps proxy targets per hostname with their auth settings, routes, certificates, ACME
//! state and renewal locks, auth configs, and the OAuth authorization server's clients,
//! codes, tokens, device flow and state, in the existing deployment's keys and JSON. Every
//! storage seeds the default `localhost` proxy (with the paths OAuth needs excluded from
//! authentication) and the default routes before its first call, in either mode.
//!
//! # Quick start
//!
//! Blocking, with the `blocking` feature:
//!
//! ```no_run
//! # #[cfg(feature = "blocking")]
//! # fn main() -> Result<(), storage::Error> {
//! use storage::blocking::Storage;
//! use storage::ProxyTarget;
//!
//! let storage = Storage::connect("redis://127.0.0.1:6379")?;
//! storage.store_proxy_target(ProxyTarget::new("api.example.com", "http://backend:8080"))?;
//! let proxy = storage.get_proxy_target("api.example.com")?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "blocking"))]
//! # fn main() {}
//! ```
//!
//! Async, with the `async` feature: the same names, and `.await`.
//!
//! ```no_run
//! # #[cfg(feature = "async")]
//! # async fn run() -> Result<(), storage::Error> {
//! use storage::asynchronous::Storage;
//!
//! let storage = Storage::connect("redis://127.0.0.1:6379").await?;
//! let live = storage.live_config().await?; // lookups in memory, kept current
//! let open = live.is_auth_excluded("localhost", "/token");
//! # Ok(())
//! # }
//! ```
//!
//! # Modes
//!
//! - [`blocking::Storage`] (feature `blocking`): redis' sync client behind a pool;
//!   `Send + Sync`, clone it or share it. A [`blocking::Watcher`] is an iterator.
//! - [`asynchronous::Storage`] (feature `async`): redis' tokio client, one multiplexed
//!   connection for every task. A [`asynchronous::Watcher`] becomes a `Stream`.
//!
//! **The async API needs a tokio runtime with its IO and time drivers** (`#[tokio::main]`,
//! or a runtime built with `enable_all`). Called outside one, or on one without a driver, an
//! operation fails with [`Error::Runtime`], which says what is missing. A `LiveConfig` made
//! on a runtime is followed by a task on it; when that runtime shuts down,
//! `LiveConfig::is_following` turns false.
//!
//! Both modes have the same operations, errors and guarantees, and both can be compiled into
//! one binary.
//!
//! # Features
//!
//! | feature | gives |
//! | --- | --- |
//! | `blocking` | [`blocking`], and `RedisStorage` (the old layer's name) |
//! | `async` | [`asynchronous`], and `AsyncRedisStorage` (the old layer's name) |
//! | `tls` | `rediss://` URLs, with rustls |
//! | `metrics` | `metrics`: what each operation and connection does, through the `metrics` facade |
//!
//! With neither mode, only the models, key names and seeding logic build.
//!
//! # Guarantees
//!
//! - Every way of obtaining a usable storage initializes it exactly once per instance,
//!   safely across processes of both modes. Between two checks too, `localhost` never
//!   demands a token at `/token`: every write merges the required paths in, every read
//!   answers with them, and deleting it is [`Error::Required`].
//! - One call, one deadline: each call ends within [`StorageConfig::call_timeout`].
//! - A watcher never takes a data loss for progress, and rides through a failover.
//! - Multi-key writes are atomic, and every failure is a typed [`Error`] naming the key or
//!   field. A corrupt record is never deleted or overwritten as a side effect.
//! - Listings cost one round trip whatever their size once the migration is finished, and
//!   initializing an up-to-date store costs one.
//! - Secrets never reach `Debug` output, logs or errors; OAuth secrets rest only as hashes.
//!
//! # Where the rest is
//!
//! The guide (`docs/guide.md` in the repository) covers deployment on one server, a Redis
//! Cluster or Sentinel, the migration from the old layer, live configuration, OAuth,
//! certificates, the `gwstore` command line, and errors and bounds. How the crate is built,
//! and how to add a record family, is on the [`architecture`] page.

#![warn(missing_docs)]
#![allow(
    clippy::duplicate_mod,
    reason = "shared/ is compiled once per mode on purpose: that is the one-source design"
)]
#![cfg_attr(
    not(any(feature = "blocking", feature = "async")),
    allow(
        dead_code,
        unused_imports,
        reason = "without a mode, nothing runs the commands and I/O helpers"
    )
)]

// Lets `seed_table!` name `::storage::seed::...` both here and in other crates.
extern crate self as storage;

mod commands;
mod config;
mod defaults;
mod error;
#[cfg(test)]
mod figures;
mod keys;
mod live;
mod live_file;
#[cfg(feature = "metrics")]
pub mod metrics;
mod model;
pub mod oauth;
mod retry;
pub mod seed;
mod state;
mod telemetry;
mod topology;
#[cfg(all(feature = "blocking", feature = "async"))]
mod unified;

pub mod architecture {
    #![doc = include_str!("../../docs/architecture.md")]
}
#[cfg(feature = "async")]
pub mod asynchronous;
#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "blocking")]
mod compat;

pub use config::{RedisUrl, StorageConfig};
pub use defaults::{DEFAULT_PROXIES, DEFAULT_ROUTES};
pub use error::{Error, Result};
pub use keys::KeySpace;
pub use live::LiveConfig;
pub use model::{
    Action, Actor, FieldChange, HistoryEntry, HistoryQuery, RecordDelta, RollbackPlan,
    RollbackScope, RollbackStep, SkippedRecord, SECRET_FIELDS,
};
pub use model::{
    AuthConfig, AuthMode, Backup, Certificate, Challenge, Change, ChangeFamily, ChangeOp,
    ConfigSnapshot, CorruptRecord, FamilyCounts, Fence, Health, Listing, LiveHealth,
    MigrationPhase, MigrationStatus, ProxyTarget, Restored, Route, RouteMode, RouteScope, Secret,
    Stats, StoredFamily, StoredRecord, TargetType, TargetValue, Timestamp, WatchEvent,
    DEFAULT_AUTH_PRIORITY, MAX_DOMAINS, MAX_PRIORITY,
};
pub use topology::Topology;

#[cfg(feature = "blocking")]
pub use compat::RedisStorage;
#[cfg(all(feature = "blocking", feature = "async"))]
pub use unified::UnifiedStorage;

/// The README's snippets, compiled as doc tests.
#[cfg(all(doctest, feature = "blocking", feature = "async"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeSnippets;

/// The guide's snippets, compiled as doc tests.
#[cfg(all(doctest, feature = "blocking", feature = "async"))]
#[doc = include_str!("../../docs/guide.md")]
pub struct GuideSnippets;

/// The old async storage's name: `AsyncRedisStorage::new(url)?`, then
/// `storage.initialize().await?` (or just use it: the first operation initializes).
#[cfg(feature = "async")]
pub type AsyncRedisStorage = asynchronous::Storage;
