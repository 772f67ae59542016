//! A blocking lock guard releases its lock on the thread that drops it.

use super::LockGuard;

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Some(guard) = self.detach() else {
            return;
        };
        if let Err(error) = guard.release_now() {
            tracing::warn!(lock = %guard.name(), %error, "lock not released; its TTL will free it");
        }
    }
}
