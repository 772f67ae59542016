//! What the async mode waits with: tokio's mutex for initialization, and tokio's sleep.

use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

/// Serializes initialization within one `Storage`.
pub(super) type InitLock = Mutex<()>;

/// Takes the initialization lock, yielding to the runtime while another task holds it.
pub(super) async fn lock_init(lock: &InitLock) -> MutexGuard<'_, ()> {
    lock.lock().await
}

/// Takes the initialization lock if no task holds it.
pub(super) fn try_lock_init(lock: &InitLock) -> Option<MutexGuard<'_, ()>> {
    lock.try_lock().ok()
}

/// Waits without holding a connection: the task yields to the runtime.
pub(super) async fn pause(duration: Duration) {
    tokio::time::sleep(duration).await;
}
