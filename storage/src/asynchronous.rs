//! The async API, on redis' tokio client with one multiplexed, auto-reconnecting connection.
//!
//! Generated from the same source as [`crate::blocking`]: `shared/` compiled with
//! `maybe_async::must_be_async`. The types and operations mirror each other.
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
use storage_macros::{mode_keep as async_only, mode_skip as blocking_only};

const MODE: &str = "async";

#[path = "shared/mod.rs"]
mod shared;

pub use shared::{LockGuard, Storage};
