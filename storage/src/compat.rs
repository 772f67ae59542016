//! Names for code written against the old storage layer.
//!
//! The old blocking `RedisStorage(url)` connected and seeded in its constructor; the old
//! async `AsyncRedisStorage(url)` needed `await storage.initialize()`. Both keep their
//! shape here, and the async one now also initializes on first use, so forgetting the call
//! can no longer leave `/token` behind authentication.

use std::ops::Deref;

use crate::blocking::Storage;
use crate::error::Result;

/// The old blocking storage: its constructor connects and initializes.
///
/// Dereferences to [`blocking::Storage`](crate::blocking::Storage), so every operation is
/// available on it.
///
/// ```no_run
/// let storage = storage::RedisStorage::new("redis://127.0.0.1:6379")?;
/// assert!(storage.get_proxy_target("localhost")?.is_some());
/// # Ok::<(), storage::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RedisStorage(Storage);

impl RedisStorage {
    /// Connects to `url` and initializes the store.
    pub fn new(url: &str) -> Result<Self> {
        Storage::connect(url).map(RedisStorage)
    }

    /// The storage itself.
    pub fn into_inner(self) -> Storage {
        self.0
    }
}

impl Deref for RedisStorage {
    type Target = Storage;

    fn deref(&self) -> &Storage {
        &self.0
    }
}
