//! What every handle on one storage shares, whatever its mode: the settings, the key space,
//! whether the store was initialized and when the defaults were last checked, the counters
//! and the live configuration.
//!
//! A component that is blocking and async at once holds one storage and takes a handle of
//! each mode from it (`blocking::Storage::asynchronous`, `asynchronous::Storage::blocking`).
//! Each mode keeps its own connections, so a blocking call never needs a runtime and an
//! async call never blocks a thread; what is here is plain atomics, safe from both.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use crate::commands::Audit;
use crate::config::StorageConfig;
use crate::keys::KeySpace;
use crate::live::{LiveConfig, LiveShare};
use crate::telemetry::Telemetry;

/// The mode-independent part of a storage.
pub(crate) struct SharedState {
    pub(crate) config: StorageConfig,
    pub(crate) keys: KeySpace,
    pub(crate) audit: Audit,
    initialized: AtomicBool,
    // When the defaults were last checked, in ms since `born`: `defaults_check_interval`
    // after it, the next operation of either mode checks again.
    born: Instant,
    born_at: SystemTime,
    checked_at: AtomicU64,
    pub(crate) telemetry: Arc<Telemetry>,
    /// The live configuration handed out last, while someone holds it: either mode's
    /// `live_config` hands it out again rather than following the feed twice.
    live: Mutex<Weak<LiveShare>>,
}

impl SharedState {
    pub(crate) fn new(config: StorageConfig) -> Self {
        let keys = config.key_space();
        SharedState {
            audit: Audit::new(&config.actor, config.history_changes, config.history_age),
            telemetry: Arc::new(Telemetry::new(keys.clone())),
            keys,
            config,
            initialized: AtomicBool::new(false),
            born: Instant::now(),
            born_at: SystemTime::now(),
            checked_at: AtomicU64::new(0),
            live: Mutex::default(),
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

    /// When the defaults were last checked, if ever.
    pub(crate) fn checked_at(&self) -> Option<SystemTime> {
        self.is_initialized()
            .then(|| self.born_at + Duration::from_millis(self.checked_at.load(Ordering::Relaxed)))
    }

    /// The live configuration in use, if one is held and still followed.
    pub(crate) fn live_config(&self) -> Option<LiveConfig> {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.upgrade()
            .map(LiveConfig::from_share)
            .filter(LiveConfig::is_following)
    }

    /// Makes `live` the one handed out again.
    pub(crate) fn keep_live(&self, live: &LiveConfig) {
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = live.share();
    }

    fn millis_since_born(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
