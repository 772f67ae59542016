//! What every handle on one storage shares, whatever its mode: the settings, the key space,
//! whether the store was initialized and when the defaults were last checked.
//!
//! A component that is blocking and async at once holds one storage and takes a handle of
//! each mode from it (`blocking::Storage::asynchronous`, `asynchronous::Storage::blocking`).
//! Each mode keeps its own connections, so a blocking call never needs a runtime and an
//! async call never blocks a thread; what is here is plain atomics, safe from both.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::config::StorageConfig;
use crate::keys::KeySpace;

/// The mode-independent part of a storage.
pub(crate) struct SharedState {
    pub(crate) config: StorageConfig,
    pub(crate) keys: KeySpace,
    initialized: AtomicBool,
    // When the defaults were last checked, in ms since `born`: `defaults_check_interval`
    // after it, the next operation of either mode checks again.
    born: Instant,
    checked_at: AtomicU64,
}

impl SharedState {
    pub(crate) fn new(config: StorageConfig) -> Self {
        SharedState {
            keys: config.key_space(),
            config,
            initialized: AtomicBool::new(false),
            born: Instant::now(),
            checked_at: AtomicU64::new(0),
        }
    }

    /// Whether a handle of either mode has initialized the store.
    pub(crate) fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    /// Records a defaults check that just ended (the first one initializes).
    pub(crate) fn checked(&self) {
        self.checked_at
            .store(self.millis_since_born(), Ordering::Relaxed);
        self.initialized.store(true, Ordering::Release);
    }

    /// Whether `defaults_check_interval` has passed since the last check.
    pub(crate) fn check_interval_passed(&self) -> bool {
        let since = self
            .millis_since_born()
            .saturating_sub(self.checked_at.load(Ordering::Relaxed));
        u128::from(since) >= self.config.defaults_check_interval.as_millis()
    }

    fn millis_since_born(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
