//! The async API, on redis' tokio client with one multiplexed connection (or redis-rs' async
//! cluster connection), rebuilt after a failure.
//!
//! Generated from the same source as [`crate::blocking`]: `shared/` compiled with
//! `maybe_async::must_be_async`. The types and operations mirror each other. What only this
//! mode has (the shared connection, tokio's mutex and sleep, a lock released by a spawned
//! task) is in this folder.
//!
//! ```no_run
//! use storage::asynchronous::Storage;
//!
//! # async fn run() -> storage::Result<()> {
//! let storage = Storage::connect("redis://127.0.0.1:6379").await?;
//! let localhost = storage.get_proxy_target("localhost").await?.expect("seeded on connect");
//! assert!(localhost.is_auth_excluded("/token"));
//! # Ok(())
//! # }
//! ```

use maybe_async::must_be_async as maybe;

const MODE: &str = "async";

mod connection;
mod follower;
mod link;
mod lock_guard;
mod runtime;
mod watch;

use connection::Links;
use follower::Follower;
use link::{Link, SentinelLock};
use runtime::{check_runtime, lock_init, pause, try_lock_init, InitLock};

#[path = "../shared/mod.rs"]
mod shared;

pub use shared::{LiveConfig, LockGuard, Storage, Watcher};
