//! Jittered exponential backoff between tries, so that writers who lost a race to each other
//! do not all retry in the same instant and lose again ("full jitter": each wait is uniformly
//! random up to a cap that doubles per try). The one place every retry loop takes its waits
//! from: optimistic writes and lock waits.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The cap of the first wait between optimistic tries: a lost race is over in well under a
/// millisecond.
const FIRST_CAP: Duration = Duration::from_millis(1);
/// The largest cap between optimistic tries.
const MAX_CAP: Duration = Duration::from_millis(64);
/// The cap of the first wait for a held lock: holders keep one for a renewal, seconds.
const LOCK_FIRST_CAP: Duration = Duration::from_millis(10);
/// The largest cap between two tries of a held lock.
const LOCK_MAX_CAP: Duration = Duration::from_millis(200);

/// The waits between the tries of one operation.
#[derive(Debug)]
pub(crate) struct Backoff {
    cap: Duration,
    max: Duration,
}

impl Backoff {
    /// Between the tries of an optimistic write, and between resends of a call.
    pub(crate) fn retry() -> Self {
        Backoff {
            cap: FIRST_CAP,
            max: MAX_CAP,
        }
    }

    /// Between the tries of a lock someone else holds.
    pub(crate) fn lock_wait() -> Self {
        Backoff {
            cap: LOCK_FIRST_CAP,
            max: LOCK_MAX_CAP,
        }
    }

    /// How long to wait before the next attempt.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let cap = self.cap;
        self.cap = (cap * 2).min(self.max);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(random_u64() % nanos.saturating_add(1))
    }
}

/// 64 random bits: std's per-process random hash seed, stirred by a counter. Not for
/// secrets (those come from the operating system), only to spread retries and name holders.
pub(crate) fn random_u64() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(NEXT.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_under_a_doubling_cap_and_vary() {
        for (mut backoff, first, max) in [
            (Backoff::retry(), FIRST_CAP, MAX_CAP),
            (Backoff::lock_wait(), LOCK_FIRST_CAP, LOCK_MAX_CAP),
        ] {
            let waits: Vec<Duration> = (0..12).map(|_| backoff.next_wait()).collect();
            for (i, wait) in waits.iter().enumerate() {
                let cap = (first * 2u32.pow(i as u32)).min(max);
                assert!(*wait <= cap, "{i}: {wait:?} > {cap:?}");
            }
            let distinct: std::collections::HashSet<_> = waits.iter().collect();
            assert!(distinct.len() > 6, "jittered: {waits:?}");
        }
    }
}
