//! The storage, written once and compiled twice.
//!
//! `blocking/mod.rs` and `asynchronous/mod.rs` both include this directory with `#[path]`.
//! Everything here compiles the same in both modes: functions are written `#[maybe] async
//! fn` (public operations `#[operation]`) with `.await`, and the blocking copy has both
//! stripped. Logic does not live here: it is in the pure modules (`model`, `keys`,
//! `commands`, `seed`), so both copies only build, run and decode. One file per family,
//! named as in `model/` and `commands/`; `storage` holds the handle and its runners,
//! `records` what every family shares, `conditional` the one optimistic-write loop.
//!
//! # What a mode provides
//!
//! Each mode declares these names before including this directory; this module takes them
//! by these names alone (`use super::{…}`), and nothing else of the mode.
//!
//! | name | what it must do | blocking | async |
//! | --- | --- | --- | --- |
//! | `maybe` | the `maybe_async` attribute that makes this code the mode's | `must_be_sync` | `must_be_async` |
//! | `MODE` | the mode's name, for spans and `Debug` | `"blocking"` | `"async"` |
//! | `Link` | one connection: `query(call, response_timeout, deadline)` runs one call within both bounds, `idle_for`, `touch`, `counted` (its `OpenConnection`) | a sync connection of any topology | a multiplexed or cluster connection |
//! | `Endpoint::open` | (an `impl` on this module's `Endpoint`) opens a `Link` within `connect_timeout`, holding the telemetry's `OpenConnection` while it lives | sync `get_connection*` | async `get_*_async_connection*`, after checking the runtime's drivers |
//! | `Links` | shares links: `take(endpoint, settings, wait, telemetry)` and `give_back(link, settings)` | a pool of `pool_size` idle connections | one shared connection, opened once |
//! | `SentinelLock<T>` | a mutex around the sentinel client (it is `&mut self`) | `std::sync::Mutex` | `tokio::sync::Mutex` |
//! | `InitLock`, `lock_init`, `try_lock_init` | the mutex initialization holds within one process | `std::sync::Mutex` | `tokio::sync::Mutex` |
//! | `pause(duration)` | sleeps without holding anything | `thread::sleep` | `tokio::time::sleep` |
//! | `check_runtime()` | what a call needs of its thread, as a typed error | nothing | a tokio runtime with IO and time drivers |
//! | `Follower::start(storage, state)` | runs [`follow`] for a [`LiveConfig`] (one type for both modes) and stops it when dropped; `Send + Sync`, since both modes' handles share it | a thread | a task |
//!
//! And the other way round: a mode adds to this module's types what only it can do, in its
//! own folder: `Drop` for [`LockGuard`] (release now, or on a spawned task), and the way a
//! [`Watcher`] is consumed (an `Iterator`, or `into_stream`).
//! `maybe-async`'s global `is_sync` feature is never enabled: it is not additive, and this
//! crate's features are.

use storage_macros::operation;

use super::{
    check_runtime, lock_init, maybe, pause, try_lock_init, Follower, InitLock, Link, Links,
    SentinelLock, MODE,
};

mod acme;
mod auth_configs;
mod backup;
mod certificates;
mod conditional;
mod connection;
mod feed;
mod history;
mod live;
mod locks;
mod migration;
mod oauth;
mod proxies;
mod records;
mod routes;
mod seeding;
mod storage;
mod watch;

use connection::Connection;
pub(super) use connection::Endpoint;
use feed::FeedConnection;

pub use crate::live::LiveConfig;
pub(super) use live::follow;
pub use locks::LockGuard;
pub use storage::Storage;
pub use watch::Watcher;
