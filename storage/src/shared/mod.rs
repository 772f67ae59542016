//! The storage, written once and compiled twice.
//!
//! `blocking/mod.rs` and `asynchronous/mod.rs` both include this directory with `#[path]`,
//! each after importing its own meaning of `maybe` (`must_be_sync` or `must_be_async`) and
//! its own `Links`, `Link` (and how `Endpoint` opens one), `SentinelLock`, `InitLock`,
//! `lock_init`, `try_lock_init`, `pause` and `check_runtime` (what a call needs of its
//! thread), which this module takes by those names. Everything here compiles the same in both modes: functions are written
//! `#[maybe] async fn` (public operations `#[operation]`) with `.await`, and the blocking copy
//! has both stripped. Logic does not live here: it is in the pure modules (`model`, `keys`,
//! `commands`, `seed`), so both copies only build, run and decode. One file per family, named
//! as in `model/` and `commands/`; `storage` holds the handle and its runners.

use storage_macros::operation;

use super::{
    check_runtime, lock_init, maybe, pause, try_lock_init, Follower, InitLock, Link, Links,
    SentinelLock, MODE,
};

mod acme;
mod auth_configs;
mod certificates;
mod connection;
mod feed;
mod live;
mod locks;
mod migration;
mod oauth;
mod proxies;
mod routes;
mod seeding;
mod storage;
mod watch;

use connection::Connection;
pub(super) use connection::Endpoint;
use feed::FeedConnection;

pub use live::LiveConfig;
pub(super) use live::{follow, Following, LiveState};
pub use locks::LockGuard;
pub use storage::Storage;
pub use watch::Watcher;
