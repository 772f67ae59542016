//! `LiveConfig`: the proxies and routes in memory, kept current by the change feed.
//!
//! A gateway reads its configuration on every request; a Redis round trip each time costs
//! about 60 µs, a cache with a fixed lifetime serves stale routes for that lifetime. A live
//! configuration is an immutable [`ConfigSnapshot`] behind an atomic pointer (arc-swap):
//! lookups never touch Redis and never wait for a writer, and each sees one revision. A
//! follower (a thread, or a task) applies each change from the feed as it arrives, building
//! a new snapshot and swapping it in. Old-layer writers do not feed the changes; while the
//! migration is mixed, the follower also rebuilds from a full listing every
//! `live_reconcile_interval`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use super::{maybe, operation, pause, Follower, Storage, MODE};
use crate::error::{Error, Result};
use crate::model::{
    self, Change, ChangeFamily, ChangeOp, ConfigSnapshot, MigrationPhase, Record, WatchEvent,
};

/// What the follower and the readers share.
pub(in super::super) struct LiveState {
    current: ArcSwap<ConfigSnapshot>,
    heard_at_ms: AtomicU64,
    stopped: AtomicBool,
    /// Cleared when the follower ends for any reason: told to stop, its runtime shut down
    /// (the task is dropped), its thread unwound.
    following: AtomicBool,
}

/// Held by the follower while it runs; dropping it, however the follower ends, says so.
/// It is made before the follower starts and moved into it, so a follower that never ran
/// (its runtime shut down first, its thread could not be spawned) says so too.
pub(in super::super) struct Following(Arc<LiveState>);

impl Following {
    pub(in super::super) fn of(state: &Arc<LiveState>) -> Self {
        Following(Arc::clone(state))
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.0.following.store(false, Ordering::Relaxed);
    }
}

impl LiveState {
    fn new(snapshot: ConfigSnapshot) -> Self {
        LiveState {
            current: ArcSwap::from_pointee(snapshot),
            heard_at_ms: AtomicU64::new(unix_ms(SystemTime::now())),
            stopped: AtomicBool::new(false),
            following: AtomicBool::new(true),
        }
    }

    /// Tells the follower to stop at its next turn.
    pub(in super::super) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    fn heard(&self, at: SystemTime) {
        self.heard_at_ms.store(unix_ms(at), Ordering::Relaxed);
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The gateway's proxies and routes in memory, kept current by the store's change feed.
/// Lookups never touch Redis. Dropping it stops its follower.
pub struct LiveConfig {
    state: Arc<LiveState>,
    _follower: Follower,
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
    /// The current snapshot: every lookup on it sees one revision, however many changes
    /// arrive meanwhile.
    pub fn snapshot(&self) -> Arc<ConfigSnapshot> {
        self.state.current.load_full()
    }

    /// The revision of the current snapshot.
    pub fn revision(&self) -> u64 {
        self.state.current.load().revision()
    }

    /// When the follower last heard from Redis (a change, or a read that found none): a
    /// health check can tell a stale snapshot from a quiet store. While Redis answers, it
    /// is never more than about a second old.
    pub fn heard_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.state.heard_at_ms.load(Ordering::Relaxed))
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
        self.state.following.load(Ordering::Relaxed)
    }

    /// Runs `lookup` on the current snapshot without taking a reference count: the
    /// cheapest way to answer one question on a hot path.
    ///
    /// ```text
    /// let target = live.read(|config| config.proxy(host).map(|p| p.target_url.clone()));
    /// ```
    pub fn read<R>(&self, lookup: impl FnOnce(&ConfigSnapshot) -> R) -> R {
        lookup(&self.state.current.load())
    }

    /// Whether `path` on `hostname` is served without authentication, at the current
    /// revision.
    pub fn is_auth_excluded(&self, hostname: &str, path: &str) -> bool {
        self.read(|config| config.is_auth_excluded(hostname, path))
    }
}

impl Storage {
    /// A live configuration: a snapshot built from one listing of proxies and routes, then
    /// kept current by a follower (a thread in the blocking API, a task on the current
    /// runtime in the async one) that applies each change of the feed within milliseconds.
    /// While the migration is mixed it also rebuilds from a full listing every
    /// [`live_reconcile_interval`](crate::StorageConfig::live_reconcile_interval), the
    /// staleness bound for old-layer writes.
    #[operation]
    pub async fn live_config(&self) -> Result<LiveConfig> {
        let snapshot = self.config_snapshot().await?;
        let state = Arc::new(LiveState::new(snapshot));
        let follower = Follower::start(self.clone(), Arc::clone(&state));
        Ok(LiveConfig {
            state,
            _follower: follower,
        })
    }

    /// A snapshot from one listing of proxies and one of routes, at the lower of their two
    /// revisions (the feed from there brings it to the later one).
    #[maybe]
    async fn config_snapshot(&self) -> Result<ConfigSnapshot> {
        let proxies = self.list_proxy_targets().await?;
        let routes = self.list_all_routes().await?;
        let revision = proxies.revision.min(routes.revision);
        Ok(ConfigSnapshot::new(
            revision,
            proxies.records,
            routes.records,
        ))
    }
}

/// The follower: applies the feed to `state` until told to stop.
#[maybe]
pub(in super::super) async fn follow(storage: Storage, following: Following) {
    let state = &following.0;
    let reconcile_every = storage.config().live_reconcile_interval;
    let mut reconciled = Instant::now();
    let mut watcher = None;
    while !state.stopped.load(Ordering::Relaxed) {
        if watcher.is_none() {
            let from = state.current.load().revision();
            match storage.watch(from).await {
                Ok(started) => watcher = Some(started),
                Err(error) => {
                    tracing::warn!(%error, "live configuration cannot watch; retrying");
                    pause(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        let Some(active) = watcher.as_mut() else {
            continue;
        };
        match active.poll_event().await {
            Ok(Some(WatchEvent::Change(change))) => apply(&storage, state, change).await,
            Ok(Some(WatchEvent::Resync { .. })) => {
                // The store lost changes (or all its data): the listing's revision is the
                // truth now, even below the snapshot's. Until it can be read, the watcher
                // starts again from the old snapshot and so resyncs again.
                if !rebuild(&storage, state, After::Loss).await {
                    watcher = None;
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "live configuration lost the feed; watching again");
                watcher = None;
            }
        }
        if let Some(heard) = watcher.as_ref().and_then(|w| w.heard_at()) {
            state.heard(heard);
        }
        if reconciled.elapsed() >= reconcile_every {
            reconciled = Instant::now();
            let phase = storage.migration_phase().await;
            if matches!(phase, Ok(MigrationPhase::Mixed)) {
                rebuild(&storage, state, After::Reconcile).await;
            }
        }
    }
}

/// Applies one change: the changed record is read again and swapped into a new snapshot.
/// A record that cannot be read keeps its previous value (and is logged), so one bad write
/// does not take a route away from every request.
#[maybe]
async fn apply(storage: &Storage, state: &LiveState, change: Change) {
    let current = state.current.load_full();
    let revision = current.revision().max(change.revision);
    let keys = storage.keys();
    let next = match change.family {
        ChangeFamily::Proxy => match changed(storage, keys.proxy(&change.id), &change).await {
            Ok(proxy) => current.with_proxy(revision, &change.id, proxy),
            Err(error) => kept(&current, revision, error),
        },
        ChangeFamily::Route => match changed(storage, keys.route(&change.id), &change).await {
            Ok(route) => current.with_route(revision, &change.id, route),
            Err(error) => kept(&current, revision, error),
        },
        // A family the snapshot does not hold moves only its revision.
        _ => current.at(revision),
    };
    state.current.store(Arc::new(next));
}

/// The record a change left at `key`: the one it carries, none for a delete, else read back.
#[maybe]
async fn changed<T: Record>(storage: &Storage, key: String, change: &Change) -> Result<Option<T>> {
    match &change.value {
        Some(value) => model::decode(&key, value).map(Some),
        None if change.op == ChangeOp::Delete => Ok(None),
        None => storage.read(&key).await,
    }
}

/// The snapshot moved to `revision` with the changed record's previous value.
fn kept(current: &ConfigSnapshot, revision: u64, error: Error) -> ConfigSnapshot {
    tracing::warn!(%error, "live configuration keeps the previous value of a changed record");
    current.at(revision)
}

/// Why a snapshot is rebuilt from full listings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    /// The feed lost changes: the listing's revision replaces the snapshot's.
    Loss,
    /// The mixed phase's periodic pass for old-layer writes: the revision never goes back.
    Reconcile,
}

/// Replaces the snapshot with one built from full listings. Returns whether it could.
#[maybe]
async fn rebuild(storage: &Storage, state: &LiveState, after: After) -> bool {
    match storage.config_snapshot().await {
        Ok(snapshot) => {
            let revision = match after {
                After::Loss => snapshot.revision(),
                After::Reconcile => snapshot.revision().max(state.current.load().revision()),
            };
            state.current.store(Arc::new(snapshot.at(revision)));
            true
        }
        Err(error) => {
            tracing::warn!(%error, "live configuration could not rebuild; keeps serving");
            false
        }
    }
}
