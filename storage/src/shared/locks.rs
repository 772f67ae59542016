//! Renewal locks: only one process, blocking or async, on any machine, renews a certificate
//! or registers an ACME account at a time. See `model::locks` for the protocol.

use std::time::Duration;

use super::{maybe, operation, pause, Storage, MODE};
use crate::commands;
use crate::error::{Error, Result};
use crate::model::locks;
use crate::model::{Backoff, Fence};

/// A held lock. Its [`fence`](Self::fence) makes writes refuse to land once the lease is lost.
///
/// Dropping the guard releases the lock. The blocking guard releases in `drop`, on the
/// dropping thread (one round trip, errors logged: the TTL frees the lock anyway). The async
/// guard, dropped with its task or otherwise, spawns the release onto the current tokio
/// runtime; outside a runtime it leaves the lock to its TTL. Call [`release`](Self::release)
/// to release at a known point and see the outcome.
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard {
    storage: Storage,
    name: String,
    value: String,
    token: u64,
    released: bool,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("name", &self.name)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl LockGuard {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This holder's fencing token: strictly greater than every earlier holder's.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The fence to hand to a fenced write, such as
    /// [`Storage::store_certificate_fenced`].
    pub fn fence(&self) -> Fence {
        Fence {
            lock: self.name.clone(),
            token: self.token,
        }
    }

    /// Extends the lease to `ttl` from now. [`Error::LockLost`] if the lease already ran out
    /// and the lock is gone or someone else's. One round trip.
    #[operation(name = "renew_lock")]
    pub async fn renew(&self, ttl: Duration) -> Result<()> {
        locks::check(&self.name, ttl)?;
        let call = commands::locks::lock_renew(self.storage.keys(), &self.name, &self.value, ttl);
        let renewed: u32 = self.storage.script(&call).await?;
        if renewed == 1 {
            Ok(())
        } else {
            Err(Error::LockLost {
                lock: self.name.clone(),
            })
        }
    }

    /// Releases the lock now. Returns false if it was no longer this holder's (the lease ran
    /// out): a stale holder's release never frees someone else's lock. One round trip.
    #[operation(name = "release_lock")]
    pub async fn release(mut self) -> Result<bool> {
        self.released = true;
        self.release_now().await
    }

    fn telemetry(&self) -> &std::sync::Arc<crate::telemetry::Telemetry> {
        self.storage.telemetry()
    }

    /// Takes the lock's identity out of a guard being dropped, unless it was released: the
    /// mode's `Drop` (in its own folder) releases the detached guard.
    pub(in super::super) fn detach(&mut self) -> Option<LockGuard> {
        if self.released {
            return None;
        }
        self.released = true;
        Some(LockGuard {
            storage: self.storage.clone(),
            name: std::mem::take(&mut self.name),
            value: std::mem::take(&mut self.value),
            token: self.token,
            released: true,
        })
    }

    #[maybe]
    pub(in super::super) async fn release_now(&self) -> Result<bool> {
        let call = commands::locks::lock_release(self.storage.keys(), &self.name, &self.value);
        let released: u32 = self.storage.script_once(&call).await?;
        Ok(released == 1)
    }
}

impl Storage {
    /// Takes the lock `name` for `ttl` if it is free, without waiting. `None` if someone
    /// holds it. One round trip.
    #[operation]
    pub async fn try_acquire_lock(&self, name: &str, ttl: Duration) -> Result<Option<LockGuard>> {
        locks::check(name, ttl)?;
        let holder = locks::holder_id();
        let call = commands::locks::lock_acquire(self.keys(), name, &holder, ttl);
        let token: Option<u64> = self.script_once(&call).await?;
        Ok(token.map(|token| LockGuard {
            storage: self.clone(),
            name: name.to_owned(),
            value: locks::lock_value(&holder, token),
            token,
            released: false,
        }))
    }

    /// Takes the lock `name` for `ttl`, waiting while someone else holds it, up to
    /// [`lock_wait`](crate::StorageConfig::lock_wait); then [`Error::Locked`].
    #[operation]
    pub async fn acquire_lock(&self, name: &str, ttl: Duration) -> Result<LockGuard> {
        let started = std::time::Instant::now();
        let lock_wait = self.config().lock_wait;
        let mut backoff = Backoff::lock_wait();
        loop {
            if let Some(guard) = self.try_acquire_lock(name, ttl).await? {
                return Ok(guard);
            }
            let wait = backoff.next_wait();
            if started.elapsed().saturating_add(wait) > lock_wait {
                return Err(Error::Locked {
                    lock: name.to_owned(),
                });
            }
            pause(wait).await;
        }
    }
}
