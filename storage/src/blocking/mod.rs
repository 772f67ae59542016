//! The blocking API, on redis' sync client with a pool of connections.
//!
//! Generated from the same source as [`crate::asynchronous`]: `shared/` compiled with
//! `maybe_async::must_be_sync`. The types and operations mirror each other, minus `async`.
//! What only this mode has (the pool, a mutex, a sleeping thread, a lock released on the
//! dropping thread) is in this folder.
//!
//! ```no_run
//! use storage::blocking::Storage;
//!
//! let storage = Storage::connect("redis://127.0.0.1:6379")?;
//! let localhost = storage.get_proxy_target("localhost")?.expect("seeded on connect");
//! assert!(localhost.is_auth_excluded("/token"));
//! # Ok::<(), storage::Error>(())
//! ```

use maybe_async::must_be_sync as maybe;

const MODE: &str = "blocking";

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
