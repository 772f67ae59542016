//! The Redis storage layer of the OAuth gateway, written once, served blocking and async.
//!
//! # Why this shape
//!
//! The gateway's blocking programs (certificate manager, dispatcher, tools) and async servers
//! (API, proxy handlers) share one Redis. The old layer was written twice, once per mode, and
//! the copies drifted: only the blocking one seeded the default `localhost` proxy, so async
//! processes demanded a token at `/token`, the endpoint that hands tokens out. Here the
//! business logic exists once and both APIs are generated from it, so they cannot drift.
//!
//! # Architecture
//!
//! ```text
//!   pure (no I/O, unit-tested)                 compiled twice (thin I/O)
//!   ───────────────────────────                ─────────────────────────────────────
//!   model/     records, validation, JSON        shared/  ──#[path]──▶ blocking::Storage
//!   keys       every key name, slot placement            ──#[path]──▶ asynchronous::Storage
//!   commands   Cmd / Script calls, replies      shared/connection.rs: the only per-mode
//!   seed       SeedPlan: what init must write     items (query vs query_async, pools,
//!   lock       lock protocol, fencing tokens      sleeping), plus each guard's Drop
//!   oauth      OAuth records, hashing, outcomes
//!   defaults   compile-time seeding table
//!   lua/       the scripts, one file each
//! ```
//!
//! `shared/` has one file per family of operations: `proxies`, `routes`, `certificates`,
//! `acme`, `locks`, `auth_configs`, `oauth`, and `seeding` (initialization); `storage` holds
//! the handle and the helpers every family uses (read, optimistic update, listing).
//!
//! - [`blocking`] includes `shared/` after `use maybe_async::must_be_sync as maybe;`,
//!   [`asynchronous`] after `must_be_async`. Shared functions are `#[maybe] async fn` with
//!   `.await`; the blocking copy has both stripped. maybe-async's global `is_sync` feature is
//!   never enabled: it is not additive, and this crate's features are.
//! - The few items that differ per mode (connection types, `query` vs `query_async`) carry
//!   `#[blocking_only]` or `#[async_only]`, two trivial attributes from `storage-macros` that
//!   each mode imports swapped: one keeps the item, the other drops it.
//! - Every operation builds its commands with [`commands`], runs them, and decodes the reply
//!   with [`model`]. Decisions such as how to repair an operator's `localhost` record are in
//!   [`seed`], not next to the I/O.
//!
//! # Features
//!
//! `blocking` and `async` are additive: either, or both at once (as happens when a binary
//! links a legacy blocking crate and an async server crate). With neither, only the models,
//! keys and seeding logic build. `tls` enables `rediss://` URLs.
//!
//! # Guarantees
//!
//! - Every way of obtaining a usable storage initializes it exactly once per instance:
//!   missing defaults are created, `localhost` gains the excluded paths OAuth needs (paths an
//!   operator added stay), concurrently safe across processes of both modes.
//! - Multi-key writes are atomic (Lua scripts), and every failure is a typed [`Error`]: a
//!   corrupt record names its key and is never deleted or overwritten as a side effect; bad
//!   input names its field and writes nothing.
//! - Records keep the existing deployment's keys and JSON, including fields this version
//!   does not know, so old readers keep working during a gradual move.
//! - Listings cost one round trip whatever their size; initializing an up-to-date store costs
//!   one.
//! - Secrets (the URL's password, PEMs, client secrets, token hashes) never reach `Debug`
//!   output, logs or errors. OAuth secrets rest in Redis only as SHA-256 hashes. Each public
//!   operation has a `tracing` span with its name and mode only.
//! - Keys are laid out for Redis Cluster: every atomic operation touches one hash slot;
//!   configuration shares the prefix's tag, OAuth state spreads by its own ids.

#![warn(missing_docs)]
#![allow(
    clippy::duplicate_mod,
    reason = "shared/ is compiled once per mode on purpose: that is the one-source design"
)]

// Lets `seed_table!` name `::storage::seed::...` both here and in other crates.
extern crate self as storage;

pub mod commands;
mod config;
mod defaults;
mod error;
pub mod keys;
pub mod lock;
pub mod model;
pub mod oauth;
pub mod seed;

#[cfg(feature = "async")]
pub mod asynchronous;
#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "blocking")]
mod compat;

pub use commands::Fence;
pub use config::{RedisUrl, StorageConfig};
pub use defaults::{DEFAULT_PROXIES, DEFAULT_ROUTES};
pub use error::{Error, Result};
pub use keys::KeySpace;
pub use model::{
    AuthConfig, AuthMode, Certificate, Challenge, CorruptRecord, Listing, ProxyTarget, Route,
    RouteMode, RouteScope, Secret, TargetType, TargetValue, Timestamp,
};

#[cfg(feature = "blocking")]
pub use compat::RedisStorage;

/// The old async storage's name: `AsyncRedisStorage::new(url)?`, then
/// `storage.initialize().await?` (or just use it: the first operation initializes).
#[cfg(feature = "async")]
pub type AsyncRedisStorage = asynchronous::Storage;
