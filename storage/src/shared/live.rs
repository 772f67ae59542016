//! How a storage hands out its [`LiveConfig`] and the follower that keeps it current, in
//! this mode: the snapshot from one listing, then each change of the feed applied as it
//! arrives. Old-layer writers do not feed the changes; while the migration is mixed, the
//! follower also rebuilds from a full listing every `live_reconcile_interval`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{maybe, operation, pause, Follower, Storage, MODE};
use crate::error::{Error, Result};
use crate::live::{Following, LiveConfig, LiveState};
use crate::live_file::{start_writer, SnapshotFile};
use crate::model::{
    self, Change, ChangeFamily, ChangeOp, ConfigSnapshot, MigrationPhase, Record, WatchEvent,
};

/// How often a live configuration handed out again is looked at while it catches up.
const CATCH_UP_POLL: Duration = Duration::from_millis(2);

impl Storage {
    /// A live configuration: a snapshot built from one listing of proxies and routes, then
    /// kept current by a follower (a thread in the blocking API, a task on the current
    /// runtime in the async one) that applies each change of the feed within milliseconds.
    /// While the migration is mixed it also rebuilds from a full listing every
    /// [`live_reconcile_interval`](crate::StorageConfig::live_reconcile_interval), the
    /// staleness bound for old-layer writes.
    ///
    /// While a live configuration this storage handed out is still held and followed, by a
    /// handle of either mode, it is handed out again once it has caught up with the store's
    /// revision at the call (one round trip), rather than following the feed twice. Past
    /// the call's deadline without catching up, a new one is built.
    #[operation]
    pub async fn live_config(&self) -> Result<LiveConfig> {
        let deadline = self.call_deadline();
        if let Some(live) = self.shared_state().live_config() {
            // Redis away: the one held is the best there is.
            let Ok(revision) = self.revision().await else {
                return Ok(live);
            };
            while live.is_following() && !deadline.passed() {
                if live.revision() >= revision {
                    return Ok(live);
                }
                pause(CATCH_UP_POLL).await;
            }
        }
        let config = self.config();
        let file = config
            .live_snapshot_file
            .as_ref()
            .map(|path| Arc::new(SnapshotFile::new(path.clone(), config.store_identity())));
        let (saved, refused) = match file.as_ref().map(|file| (file.load(), file)) {
            Some((Ok(Some(saved)), file)) => (Some((saved, file)), None),
            Some((Err(error), _)) => (None, Some(error)),
            _ => (None, None),
        };
        let state = match saved {
            Some((saved, file)) => LiveState::from_saved(saved, file.path()),
            None => LiveState::new(self.config_snapshot().await?),
        };
        if let Some(error) = refused {
            state.refuse_file(error);
        }
        let state = Arc::new(state);
        if let Some(file) = &file {
            let debounce = config.live_snapshot_debounce;
            state.tell(start_writer(
                Arc::clone(file),
                Arc::downgrade(&state),
                debounce,
            ));
        }
        let follower = Follower::start(self.clone(), Arc::clone(&state));
        let live = LiveConfig::followed_by(state, file, follower);
        self.shared_state().keep_live(&live);
        Ok(live)
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
    let state = following.state();
    let telemetry = storage.telemetry();
    let reconcile_every = storage.config().live_reconcile_interval;
    let mut reconciled = Instant::now();
    let mut watcher = None;
    while !state.is_stopped() {
        if watcher.is_none() {
            let from = state.current.load().revision();
            // From the file's revision, only in the epoch it was read in.
            let epoch = state.stale_file().and(state.epoch());
            match storage.watch_in(from, epoch).await {
                Ok(mut started) => {
                    started.for_live_config();
                    watcher = Some(started);
                }
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
        if let Some(active) = watcher.as_ref() {
            if let Some(heard) = active.heard_at() {
                state.heard(heard);
            }
            if let Some(lag) = active.lag() {
                state.lagged(lag);
            }
            state.set_epoch(active.epoch());
            if active.is_caught_up() {
                state.caught_up();
            }
        }
        telemetry.snapshot(state.current.load().revision(), state.age());
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
    state.publish(next);
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
    /// The mixed phase's periodic pass for old-layer writes: the revision never goes back,
    /// and each record found changed is recorded in the history as the old layer's.
    Reconcile,
}

/// Replaces the snapshot with one built from full listings. Returns whether it could.
#[maybe]
async fn rebuild(storage: &Storage, state: &LiveState, after: After) -> bool {
    match storage.config_snapshot().await {
        Ok(snapshot) => {
            let held = state.current.load_full();
            // Caught up with the feed, what still differs was written behind it (the old
            // layer); behind the feed, the follower applies the rest first.
            let behind_the_feed = after == After::Reconcile
                && storage.audit().keeps_history()
                && held.revision() >= snapshot.revision();
            if behind_the_feed {
                let since = held.revision();
                for (family, id, before) in snapshot.changed_since(&held) {
                    let recorded = storage
                        .record_observed(family, &id, before.as_deref(), since)
                        .await;
                    if let Err(error) = recorded {
                        tracing::warn!(%error, %family, "a change behind the feed was not recorded");
                    }
                }
            }
            let revision = match after {
                After::Loss => snapshot.revision(),
                After::Reconcile => snapshot.revision().max(state.current.load().revision()),
            };
            state.publish(snapshot.at(revision));
            state.caught_up();
            true
        }
        Err(error) => {
            tracing::warn!(%error, "live configuration could not rebuild; keeps serving");
            false
        }
    }
}
