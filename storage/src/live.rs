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

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use crate::error::{Error, Result};
use crate::live_file::SnapshotFile;
use crate::model::snapshot_file::SavedSnapshot;
use crate::model::{ConfigSnapshot, LiveHealth, StaleFile};

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
    /// The feed epoch the snapshot was read in, once known: the file records it.
    epoch: Mutex<Option<String>>,
    /// While the snapshot is what the file held, which file and revision.
    from_file: Mutex<Option<StaleFile>>,
    /// Tells the file's writer of each new snapshot, when there is a file.
    changed: OnceLock<Sender<()>>,
    /// Why the file was not served at the start, if it was not.
    refused_file: OnceLock<Error>,
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
            epoch: Mutex::new(None),
            from_file: Mutex::new(None),
            changed: OnceLock::new(),
            refused_file: OnceLock::new(),
        }
    }

    /// Records why the file was not served.
    pub(crate) fn refuse_file(&self, error: Error) {
        let _ = self.refused_file.set(error);
    }

    /// A state serving what the file at `path` held, until the follower catches up.
    pub(crate) fn from_saved(saved: SavedSnapshot, path: &Path) -> Self {
        let stale = StaleFile {
            path: path.to_owned(),
            revision: saved.snapshot.revision(),
            written_at: saved.written_at,
        };
        let state = LiveState::new(saved.snapshot);
        state
            .heard_at_ms
            .store(unix_ms(saved.written_at), Ordering::Relaxed);
        *lock(&state.epoch) = saved.epoch;
        *lock(&state.from_file) = Some(stale);
        state
    }

    /// Has `changed` told of every new snapshot.
    pub(crate) fn tell(&self, changed: Sender<()>) {
        if self.changed.set(changed).is_ok() {
            self.published();
        }
    }

    /// Makes `snapshot` the current one.
    pub(crate) fn publish(&self, snapshot: ConfigSnapshot) {
        self.current.store(Arc::new(snapshot));
        self.published();
    }

    fn published(&self) {
        if let Some(changed) = self.changed.get() {
            let _ = changed.send(());
        }
    }

    /// The feed epoch the snapshot was read in, if known.
    pub(crate) fn epoch(&self) -> Option<String> {
        lock(&self.epoch).clone()
    }

    /// Records the feed epoch the follower reads in.
    pub(crate) fn set_epoch(&self, epoch: Option<&str>) {
        let mut known = lock(&self.epoch);
        if known.as_deref() != epoch {
            *known = epoch.map(str::to_owned);
        }
    }

    /// While the snapshot is the file's, which file and revision.
    pub(crate) fn stale_file(&self) -> Option<StaleFile> {
        lock(&self.from_file).clone()
    }

    /// The snapshot is Redis' now: the file's is left behind.
    pub(crate) fn caught_up(&self) {
        if lock(&self.from_file).take().is_some() {
            tracing::info!("live configuration caught up with Redis");
            self.published();
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A live configuration's state and its follower, shared by every clone of it and by both
/// modes' handles on one storage. The last one dropped stops the follower.
pub(crate) struct LiveShare {
    state: Arc<LiveState>,
    file: Option<Arc<SnapshotFile>>,
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
    /// A live configuration on `state`, kept in `file` if there is one, followed by
    /// `follower` until the last clone goes.
    pub(crate) fn followed_by(
        state: Arc<LiveState>,
        file: Option<Arc<SnapshotFile>>,
        follower: impl Send + Sync + 'static,
    ) -> Self {
        LiveConfig {
            share: Arc::new(LiveShare {
                state,
                file,
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

    /// While it serves what its file held (it started while Redis was away), which file
    /// and revision that is, and how old; None once the follower has caught up with Redis
    /// (at once from the feed if the feed still holds that revision, else after one full
    /// listing), and always None without a file.
    pub fn stale_from_file(&self) -> Option<StaleFile> {
        self.state().stale_file()
    }

    /// Why the file was not served when this live configuration started, if it was not: it
    /// was damaged or cut short, of another format version, another store's, or
    /// unreadable ([`Error::SnapshotFile`] names it and the reason). The start was then the
    /// ordinary one, from Redis; the file is left as it was until a snapshot from Redis
    /// replaces it.
    pub fn refused_file(&self) -> Option<&Error> {
        self.state().refused_file.get()
    }

    /// Writes the current snapshot to the file now, without waiting for the debounce (say,
    /// before a planned shutdown). [`Error::SnapshotFile`] names the file if it cannot be
    /// written, or if none is configured; a snapshot still from the file is not written
    /// back.
    pub fn write_snapshot_file(&self) -> Result<()> {
        let Some(file) = &self.share.file else {
            return Err(Error::SnapshotFile {
                path: String::new(),
                reason: "no file is configured (StorageConfig::with_live_snapshot_file)".to_owned(),
            });
        };
        if self.state().stale_file().is_some() {
            return Ok(());
        }
        file.save(&self.snapshot(), self.state().epoch().as_deref())
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
            from_file: self.state().stale_file(),
            refused_file: self.refused_file().map(ToString::to_string),
        }
    }
}
