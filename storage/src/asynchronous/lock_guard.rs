//! An async lock guard, dropped with its task or otherwise, releases its lock from a task
//! spawned on the current runtime; outside a runtime it leaves the lock to its TTL.

use super::LockGuard;

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Some(guard) = self.detach() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(lock = %guard.name(), "lock dropped outside a runtime; its TTL will free it");
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = guard.release_now().await {
                tracing::warn!(lock = %guard.name(), %error, "lock not released; its TTL will free it");
            }
        });
    }
}
