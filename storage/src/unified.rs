//! One storage for a component that is blocking and async at once: each mode's handle
//! from the other, sharing one initialization.
//!
//! The handles share the settings, the key space, the initialization and the defaults
//! schedule; each keeps the connections of its own mode, opened on first use, as redis-rs'
//! one `Client` hands out sync and async connections. So a blocking call never needs a
//! runtime and an async call never blocks a thread.
//!
//! A blocking call made on a runtime's worker thread works: it blocks that thread for the
//! call's round trips, as any blocking I/O there does, and needs nothing from the runtime.
//! On a `current_thread` runtime that thread is the runtime's only one, so its tasks wait
//! for the call to end; nothing deadlocks, because the blocking handle never waits for a
//! task. Prefer the async handle there, or `spawn_blocking`.
//!
//! ```no_run
//! use storage::UnifiedStorage;
//!
//! struct FlexibleComponent {
//!     storage: UnifiedStorage,
//! }
//!
//! impl FlexibleComponent {
//!     fn target_now(&self, host: &str) -> storage::Result<Option<String>> {
//!         let proxy = self.storage.blocking().get_proxy_target(host)?;
//!         Ok(proxy.map(|p| p.target_url))
//!     }
//!
//!     async fn target(&self, host: &str) -> storage::Result<Option<String>> {
//!         let proxy = self.storage.asynchronous().get_proxy_target(host).await?;
//!         Ok(proxy.map(|p| p.target_url))
//!     }
//! }
//! # async fn run() -> storage::Result<()> {
//! let component = FlexibleComponent { storage: UnifiedStorage::new("redis://127.0.0.1:6379")? };
//! component.storage.initialize_async().await?; // or initialize(), from blocking code
//! component.target("localhost").await?;
//! # Ok(()) }
//! ```

use crate::config::StorageConfig;
use crate::error::{Error, Result};
use crate::{asynchronous, blocking};

impl blocking::Storage {
    /// An async handle on this storage: it shares this one's initialization and defaults
    /// schedule, and opens async connections of its own on first use. No I/O here; fails
    /// only where the async client cannot be built for this configuration.
    pub fn asynchronous(&self) -> Result<asynchronous::Storage> {
        asynchronous::Storage::sharing(self.shared_state().clone())
    }
}

impl asynchronous::Storage {
    /// A blocking handle on this storage: it shares this one's initialization and defaults
    /// schedule, and opens blocking connections of its own on first use. No I/O here.
    pub fn blocking(&self) -> Result<blocking::Storage> {
        blocking::Storage::sharing(self.shared_state().clone())
    }
}

/// One storage with a handle of each mode, for a component whose sync methods call it
/// without `.await` and whose async methods call it with `.await` (the design's
/// `UnifiedStorage`). Cheap to clone; clones share everything.
#[derive(Clone, Debug)]
pub struct UnifiedStorage {
    blocking: blocking::Storage,
    asynchronous: asynchronous::Storage,
}

impl UnifiedStorage {
    /// Both handles on one storage; no I/O, so this only fails on a bad configuration.
    pub fn new<C>(config: C) -> Result<Self>
    where
        C: TryInto<StorageConfig>,
        Error: From<C::Error>,
    {
        let blocking = blocking::Storage::new(config)?;
        let asynchronous = blocking.asynchronous()?;
        Ok(UnifiedStorage {
            blocking,
            asynchronous,
        })
    }

    /// Initializes from blocking code; the async handle is then initialized too.
    pub fn initialize(&self) -> Result<()> {
        self.blocking.initialize()
    }

    /// Initializes from async code; the blocking handle is then initialized too.
    pub async fn initialize_async(&self) -> Result<()> {
        self.asynchronous.initialize().await
    }

    /// The blocking handle.
    pub fn blocking(&self) -> &blocking::Storage {
        &self.blocking
    }

    /// The async handle.
    pub fn asynchronous(&self) -> &asynchronous::Storage {
        &self.asynchronous
    }
}
