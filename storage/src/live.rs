//! `LiveConfig`: the proxies and routes in memory, kept current by the change feed.
//!
//! A gateway reads its configuration on every request; a Redis round trip each time costs
//! about 60 µs, a cache with a fixed lifetime serves stale routes for that lifetime. A live
//! configuration is an immutable [`ConfigSnapshot`] behind an atomic pointer (arc-swap):
//! lookups never touch Redis and never wait for a writer, and each sees one revision. A
//! follower (a thread in the blocking mode, a task in the async one, `follow` in
//! `shared/live.rs`) applies each change from the feed as it arrives, building a new
//! snapshot and swapping it in.
//!
//! The type is the same in both modes: lookups are plain reads, and only the follower is a
//! mode's. One storage keeps one while it is held, so a component that is blocking and async
//! at once follows the feed once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use crate::model::{ConfigSnapshot, LiveHealth};

/// What the follower and the readers share.
pub(crate) struct LiveState {
    pub(crate) current: ArcSwap<ConfigSnapshot>,
    heard_at_ms: AtomicU64,
    /// The follower's lag behind the feed's newest change at its last read, in ms plus one
    /// (0: not read yet).
    lag_ms: AtomicU64,
    stopped: AtomicBool,
    /// Cleared when the follower ends for any reason: told to stop, its runtime shut down
    /// (the task is dropped), its thread unwound.
    following: AtomicBool,
}

/// Held by the follower while it runs; dropping it, however the follower ends, says so.
/// It is made before the follower starts and moved into it, so a follower that never ran
/// (its runtime shut down first, its thread could not be spawned) says so too.
pub(crate) struct Following(Arc<LiveState>);

impl Following {
    pub(crate) fn of(state: &Arc<LiveState>) -> Self {
        Following(Arc::clone(state))
    }

    /// The state this follower keeps current.
    pub(crate) fn state(&self) -> &LiveState {
        &self.0
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.0.following.store(false, Ordering::Relaxed);
    }
}

impl LiveState {
    pub(crate) fn new(snapshot: ConfigSnapshot) -> Self {
        LiveState {
            current: ArcSwap::from_pointee(snapshot),
            heard_at_ms: AtomicU64::new(unix_ms(SystemTime::now())),
            lag_ms: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            following: AtomicBool::new(true),
        }
    }

    /// Tells the follower to stop at its next turn.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    /// Whether the follower was told to stop.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// The follower heard from Redis `at`.
    pub(crate) fn heard(&self, at: SystemTime) {
        self.heard_at_ms.store(unix_ms(at), Ordering::Relaxed);
    }

    /// The follower's lag behind the feed at its last read.
    pub(crate) fn lagged(&self, lag: Duration) {
        let ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX - 1);
        self.lag_ms.store(ms + 1, Ordering::Relaxed);
    }

    fn heard_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.heard_at_ms.load(Ordering::Relaxed))
    }

    /// How long since the follower last heard from Redis.
    pub(crate) fn age(&self) -> Duration {
        self.heard_at().elapsed().unwrap_or_default()
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A live configuration's state and its follower, shared by every clone of it and by both
/// modes' handles on one storage. The last one dropped stops the follower.
pub(crate) struct LiveShare {
    state: Arc<LiveState>,
    _follower: Box<dyn Send + Sync>,
}

/// The gateway's proxies and routes in memory, kept current by the store's change feed.
/// Lookups never touch Redis. Cheap to clone. Dropping the last clone (and the last one
/// another call of `live_config` on the same storage handed out) stops its follower.
#[derive(Clone)]
pub struct LiveConfig {
    share: Arc<LiveShare>,
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("revision", &self.revision())
            .field("following", &self.is_following())
            .finish_non_exhaustive()
    }
}

impl LiveConfig {
    /// A live configuration on `state`, followed by `follower` until the last clone goes.
    pub(crate) fn followed_by(state: Arc<LiveState>, follower: impl Send + Sync + 'static) -> Self {
        LiveConfig {
            share: Arc::new(LiveShare {
                state,
                _follower: Box::new(follower),
            }),
        }
    }

    pub(crate) fn from_share(share: Arc<LiveShare>) -> Self {
        LiveConfig { share }
    }

    pub(crate) fn share(&self) -> std::sync::Weak<LiveShare> {
        Arc::downgrade(&self.share)
    }

    fn state(&self) -> &LiveState {
        &self.share.state
    }

    /// The current snapshot: every lookup on it sees one revision, however many changes
    /// arrive meanwhile.
    pub fn snapshot(&self) -> Arc<ConfigSnapshot> {
        self.state().current.load_full()
    }

    /// The revision of the current snapshot.
    pub fn revision(&self) -> u64 {
        self.state().current.load().revision()
    }

    /// When the follower last heard from Redis (a change, or a read that found none): a
    /// health check can tell a stale snapshot from a quiet store. While Redis answers, it
    /// is never more than about a second old.
    pub fn heard_at(&self) -> SystemTime {
        self.state().heard_at()
    }

    /// Whether the follower still runs. False once it has ended: in the async API, when
    /// the runtime it was spawned on shut down (the task went with it); in the blocking
    /// API, if its thread died. The snapshot then stays at [`revision`](Self::revision)
    /// for good, so a health check treats false as unhealthy and makes a new live
    /// configuration; `heard_at` falling behind while this is true means Redis is away.
    ///
    /// ```text
    /// let healthy = live.is_following()
    ///     && live.heard_at().elapsed().unwrap_or_default() < Duration::from_secs(5);
    /// ```
    pub fn is_following(&self) -> bool {
        self.state().following.load(Ordering::Relaxed)
    }

    /// Runs `lookup` on the current snapshot without taking a reference count: the
    /// cheapest way to answer one question on a hot path.
    ///
    /// ```text
    /// let target = live.read(|config| config.proxy(host).map(|p| p.target_url.clone()));
    /// ```
    pub fn read<R>(&self, lookup: impl FnOnce(&ConfigSnapshot) -> R) -> R {
        lookup(&self.state().current.load())
    }

    /// Whether `path` on `hostname` is served without authentication, at the current
    /// revision.
    pub fn is_auth_excluded(&self, hostname: &str, path: &str) -> bool {
        self.read(|config| config.is_auth_excluded(hostname, path))
    }

    /// The live configuration's figures in a storage's stats.
    pub(crate) fn stats(&self, stats: &mut crate::model::Stats) {
        stats.snapshot_revision = Some(self.revision());
        stats.snapshot_age = Some(self.state().age());
    }

    /// The part of a storage's health this live configuration tells.
    pub(crate) fn health(&self) -> LiveHealth {
        let heard_at = self.heard_at();
        let lag = self.state().lag_ms.load(Ordering::Relaxed);
        LiveHealth {
            revision: self.revision(),
            following: self.is_following(),
            heard_at,
            staleness: self.state().age(),
            lag: lag.checked_sub(1).map(Duration::from_millis),
        }
    }
}
