//! Renewal locks with fencing tokens: the protocol, without Redis.
//!
//! A lock is `lock:{name}` holding `{holder}:{token}`, always with a TTL set in the same
//! command, so a crashed holder cannot keep it. Every acquisition increments
//! `lock:fence:{name}`, giving strictly increasing fencing tokens. A write that carries a
//! token ([`Fence`]) is refused atomically if a newer one was issued, so a holder that stalled
//! past its lease cannot overwrite the work of the one that took over. The fence counter has no
//! TTL on purpose: if it expired, tokens would start again at 1 and fencing would break.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::model::backoff::random_u64;
use crate::model::validate;

/// A fencing token to check a write against: the write is refused if the lock issued a newer
/// one. Only a held lock hands one out (`LockGuard::fence`), so a fence cannot be forged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub(crate) lock: String,
    pub(crate) token: u64,
}

impl Fence {
    /// The lock's name.
    pub fn lock(&self) -> &str {
        &self.lock
    }

    /// The token its holder got: strictly greater than every earlier holder's.
    pub fn token(&self) -> u64 {
        self.token
    }
}

/// A holder id unique across processes and machines: 64 random bits (std's per-process
/// random hash seed) and a per-process counter.
pub fn holder_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let serial = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}{serial:x}", random_u64())
}

/// The value a holder stores in the lock key.
pub fn lock_value(holder: &str, token: u64) -> String {
    format!("{holder}:{token}")
}

/// Checks a lock name (it is part of a key) and a TTL.
pub fn check(name: &str, ttl: Duration) -> Result<()> {
    validate::record_id("lock", name)?;
    if ttl < Duration::from_millis(1) {
        return Err(Error::invalid("ttl", "must be at least 1 ms"));
    }
    validate::duration("ttl", ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_ids_differ() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| holder_id()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn names_and_ttls_are_checked() {
        assert!(check("example-cert", Duration::from_secs(1)).is_ok());
        assert!(matches!(
            check("a:b", Duration::from_secs(1)),
            Err(Error::Invalid { field: "lock", .. })
        ));
        assert!(matches!(
            check("a", Duration::ZERO),
            Err(Error::Invalid { field: "ttl", .. })
        ));
    }
}
