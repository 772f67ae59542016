//! The blocking API, on redis' sync client with a pool of connections.
//!
//! Generated from the same source as [`crate::asynchronous`]: `shared/` compiled with
//! `maybe_async::must_be_sync`. The types and operations mirror each other, minus `async`.
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
use storage_macros::{mode_keep as blocking_only, mode_skip as async_only};

const MODE: &str = "blocking";

#[path = "shared/mod.rs"]
mod shared;

pub use shared::{LockGuard, Storage};
