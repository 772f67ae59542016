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
//!   pure: no I/O, unit-tested                  compiled twice: thin I/O
//!   ──────────────────────────────             ───────────────────────────────────────────
//!   model/     records, validation, JSON,       shared/   one source ─#[path]─▶ blocking::Storage
//!              OAuth rules, lock protocol                            ─#[path]─▶ asynchronous::Storage
//!   commands/  Cmd, Pipeline and Script         blocking/       sync links, a pool, mutex,
//!              calls; reply decoding;                           sleep, guard drop
//!              pipelines cut by slot            asynchronous/   async links, one shared,
//!   keys       every key name, slot placement                   tokio mutex and sleep, guard
//!   topology   URL -> one server, cluster,                      release by a spawned task
//!              sentinel
//!   retry      when a failed call is resent
//!   seed       SeedPlan: what init must write
//!   defaults   the compile-time seeding table
//!   lua/       the scripts, one file each
//! ```
//!
//! **One name per family.** A family of records has the same file name in `model/`,
//! `commands/` and `shared/`: `proxies`, `routes`, `certificates`, `acme`, `auth_configs`,
//! `locks`, and `oauth/` with one file per flow (`clients`, `codes`, `access_tokens`,
//! `refresh`, `device`, `state`, plus `secrets` for how secrets are made and stored). To
//! change how routes are stored, read `model/routes.rs`, `commands/routes.rs`,
//! `shared/routes.rs` and `lua/put_route.lua`.
//!
//! **One source, two modes.** `blocking/mod.rs` includes `shared/` after
//! `use maybe_async::must_be_sync as maybe;`, `asynchronous/mod.rs` after `must_be_async`.
//! Shared functions are `#[maybe] async fn` with `.await`; the blocking copy has both
//! stripped. Every public operation carries one attribute, `#[operation]` from
//! `storage-macros`, which adds `#[maybe]` and a `tracing` span with the operation's name and
//! the mode. What differs per mode (where connections go and how one call runs on one, how
//! connections are shared, the initialization lock, sleeping, a lock guard's release on
//! drop) lives in that mode's folder, and `shared/` takes each by one name: `Link` (with
//! `Endpoint::open`), `Links`, `SentinelLock`, `InitLock`, `lock_init`, `try_lock_init`,
//! `pause`, `check_runtime`. maybe-async's global
//! `is_sync` feature is never enabled: it is not additive, and this crate's features are.
//!
//! **Topologies.** One server, a Redis Cluster (`redis+cluster://`) or a master found
//! through Sentinel (`redis+sentinel://`): `topology` reads the URL, `Endpoint` holds
//! redis-rs' own client for it and each mode opens connections with it, and `shared/connection.rs` runs every call the same way
//! on all three: again on a new connection when `retry` says a resend is safe (always for a
//! call that never ran, only for idempotent writes after one that may have), until the
//! failover is over, then `WAIT` for replicas if the configuration asks.
//!
//! **Initialization by construction.** Operations reach Redis only through the runners on
//! `Storage` (`cmd`, `pipe`, `script`, their `_once` and `read_` forms, all one `send`),
//! which initialize before they send anything; the
//! connection itself is private to `shared/storage.rs`. Only initialization and
//! `health_check` bypass the runners, through a method whose name says so. A new operation
//! therefore cannot skip seeding, in either mode.
//!
//! **Build, then run.** As in redis-rs, every operation builds its commands with `commands`,
//! runs them through a runner, and decodes the reply with `model`. Decisions such as how to
//! repair an operator's `localhost` record are in `seed`, not next to the I/O.
//!
//! **Changes at memory speed.** Every configuration write also bumps the store revision and
//! appends to a change feed in the same script (`lua/prologue.lua`); `watch` follows the
//! feed, and `LiveConfig` keeps an immutable snapshot of proxies and routes current from it.
//!
//! The design notes (why each choice, and the facts about the existing deployment's
//! records) are in `docs/DESIGN.md` at the top of the repository.
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
//! - Between two checks too, `localhost` never demands a token at `/token`: every write
//!   through this crate merges the required paths in, every read (a get, a listing, a live
//!   configuration, `ProxyTarget::is_auth_excluded`) answers with them whoever wrote the
//!   record, and deleting it is [`Error::Required`].
//! - One call, one deadline: each call ends within
//!   [`StorageConfig::call_timeout`], its defaults re-check, resends and reconnections
//!   included.
//! - A watcher never takes a data loss for progress (the feed carries the store's epoch),
//!   and rides through a failover like every other call.
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
mod keys;
mod model;
pub mod oauth;
mod retry;
pub mod seed;
mod topology;

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
pub use model::{
    AuthConfig, AuthMode, Certificate, Challenge, Change, ChangeFamily, ChangeOp, ConfigSnapshot,
    CorruptRecord, FamilyCounts, Fence, Listing, MigrationPhase, MigrationStatus, ProxyTarget,
    Route, RouteMode, RouteScope, Secret, TargetType, TargetValue, Timestamp, WatchEvent,
    DEFAULT_AUTH_PRIORITY, MAX_DOMAINS, MAX_PRIORITY,
};
pub use topology::Topology;

#[cfg(feature = "blocking")]
pub use compat::RedisStorage;

/// The old async storage's name: `AsyncRedisStorage::new(url)?`, then
/// `storage.initialize().await?` (or just use it: the first operation initializes).
#[cfg(feature = "async")]
pub type AsyncRedisStorage = asynchronous::Storage;
