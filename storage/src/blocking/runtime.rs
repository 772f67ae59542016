//! What the blocking mode waits with: a mutex for initialization, and a sleeping thread;
//! and what it needs of the thread it runs on, which is nothing.

use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use crate::error::Result;

/// Whether this thread can make a call: any thread can.
pub(super) fn check_runtime() -> Result<()> {
    Ok(())
}

/// Serializes initialization within one `Storage`.
pub(super) type InitLock = Mutex<()>;

/// Takes the initialization lock.
pub(super) fn lock_init(lock: &InitLock) -> MutexGuard<'_, ()> {
    // A panic in another initializer leaves nothing half-done in memory; carry on.
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes the initialization lock if no one holds it.
pub(super) fn try_lock_init(lock: &InitLock) -> Option<MutexGuard<'_, ()>> {
    match lock.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Waits without holding a connection: the thread sleeps.
pub(super) fn pause(duration: Duration) {
    std::thread::sleep(duration);
}
