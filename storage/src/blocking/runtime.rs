//! What the blocking mode waits with: a mutex for initialization, and a sleeping thread.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Serializes initialization within one `Storage`.
pub(super) type InitLock = Mutex<()>;

/// Takes the initialization lock.
pub(super) fn lock_init(lock: &InitLock) -> MutexGuard<'_, ()> {
    // A panic in another initializer leaves nothing half-done in memory; carry on.
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits without holding a connection: the thread sleeps.
pub(super) fn pause(duration: Duration) {
    std::thread::sleep(duration);
}
