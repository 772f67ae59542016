//! Watching the change feed from a revision on: every change in revision order, resumed
//! after a reconnection, and an explicit resync where the feed lost what the watcher needs.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use redis::streams::StreamReadReply;

use super::feed::FeedFailure;
use super::{maybe, operation, pause, FeedConnection, Storage, MODE};
use crate::commands;
use crate::commands::watch::FeedHead;
use crate::error::{Error, Result};
use crate::model::{Change, WatchEvent};
use crate::telemetry::FollowerKind;

/// How long one read waits on the feed before the watcher checks the store's revision
/// (which tells a Redis that restarted empty apart from a quiet one).
const READ_WAIT: Duration = Duration::from_millis(500);
/// How long to wait before reading again after the connection failed.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// A watcher on the store's change feed, from a revision on; see
/// [`Storage::watch`](Storage::watch).
pub struct Watcher {
    storage: Storage,
    feed: FeedConnection,
    seen: u64,
    /// The epoch of the store the watcher follows (see `lua/prologue.lua`): an entry of
    /// another epoch means that store lost its data. None until one is known.
    epoch: Option<String>,
    pending: VecDeque<WatchEvent>,
    heard_at: Option<SystemTime>,
    /// Whose feed figures this watcher's are: its own, or a live configuration's.
    follower: FollowerKind,
    /// How far behind the newest change it was at its last event or empty read.
    lag: Option<Duration>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("seen", &self.seen)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// The store's revision: how many changes proxies, routes, certificates and auth
    /// configs have had. One round trip.
    #[operation]
    pub async fn revision(&self) -> Result<u64> {
        let current: Option<u64> = self
            .read_cmd(&commands::watch::revision(self.keys()))
            .await?;
        Ok(current.unwrap_or(0))
    }

    /// A watcher that yields every change after `from_revision`, in revision order. Start
    /// from a listing's [`revision`](crate::Listing::revision) to follow it. The watcher has
    /// a connection of its own; it resumes from the last revision it yielded after a
    /// reconnection, and yields [`WatchEvent::Resync`] when the changes it needs are no
    /// longer in the feed (trimmed, or Redis lost its data). Changes written by old-layer
    /// processes are not in the feed (see the migration).
    ///
    /// A data loss is always told apart from progress: every feed entry carries the epoch
    /// of the store that wrote it, a new one after Redis lost its data, so a loss is a
    /// `Resync` however many writes followed it. One round trip here, which learns the
    /// epoch; a store already below `from_revision` (it lost its data since the listing)
    /// is a `Resync` at once.
    #[operation]
    pub async fn watch(&self, from_revision: u64) -> Result<Watcher> {
        self.watch_in(from_revision, None).await
    }

    /// [`watch`](Self::watch) from a revision read in the feed epoch `epoch`, where it is
    /// known (a live configuration's file): a store of another epoch lost what that revision
    /// stood for, so the watcher starts with a `Resync`.
    #[maybe]
    pub(super) async fn watch_in(
        &self,
        from_revision: u64,
        epoch: Option<String>,
    ) -> Result<Watcher> {
        self.ready().await?;
        let now = self.feed_head().await?;
        let other_epoch = epoch.is_some_and(|epoch| now.epoch.as_ref() != Some(&epoch));
        let mut watcher = Watcher {
            storage: self.clone(),
            feed: FeedConnection::new(self.connection_before_init().settings(), self.telemetry()),
            seen: from_revision,
            epoch: now.epoch.clone(),
            pending: VecDeque::new(),
            heard_at: None,
            follower: FollowerKind::Watcher,
            lag: None,
        };
        if now.revision < from_revision || other_epoch {
            watcher.resync(now);
        }
        Ok(watcher)
    }

    /// Where the change feed stands: the revision and the newest entry's epoch. One round
    /// trip.
    #[maybe]
    async fn feed_head(&self) -> Result<FeedHead> {
        commands::watch::feed_head(
            self.keys(),
            self.read_pipe(&commands::watch::head(self.keys())).await?,
        )
    }
}

impl Watcher {
    /// The last revision this watcher yielded (or started from).
    pub fn revision(&self) -> u64 {
        self.seen
    }

    /// When the watcher last heard from Redis (a change, or a read that found none).
    pub fn heard_at(&self) -> Option<SystemTime> {
        self.heard_at
    }

    /// The feed epoch this watcher follows, once known.
    pub(super) fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    /// Whether its last read found nothing new: it has yielded everything up to the
    /// store's revision.
    pub(super) fn is_caught_up(&self) -> bool {
        self.lag == Some(Duration::ZERO) && self.pending.is_empty()
    }

    /// Counts this watcher's feed figures as a live configuration's.
    pub(super) fn for_live_config(&mut self) {
        self.follower = FollowerKind::LiveConfig;
    }

    /// How far behind the newest change this watcher was at its last event (the time since
    /// that change was written), or zero after a read that found nothing new.
    pub(super) fn lag(&self) -> Option<Duration> {
        self.lag
    }

    fn telemetry(&self) -> &std::sync::Arc<crate::telemetry::Telemetry> {
        self.storage.telemetry()
    }

    fn lagging(&mut self, lag: Duration) {
        self.lag = Some(lag);
        self.telemetry().feed_lag(self.follower, lag);
    }

    /// The next event; waits for one. Connection failures are retried (resuming from the
    /// last revision yielded), and so is everything a failover shows (the sentinels naming
    /// no master for a moment, a demoted master, a cluster re-electing): a watcher rides
    /// through a failover as every other call does. Errors that a retry cannot cure (a
    /// key of the wrong type, refused credentials) are returned.
    #[maybe]
    pub async fn next_event(&mut self) -> Result<WatchEvent> {
        loop {
            if let Some(event) = self.poll_event().await? {
                return Ok(event);
            }
        }
    }

    /// The next event if one comes within a short wait (half a second), else `None`: for a
    /// loop that has other things to do between events.
    #[maybe]
    pub async fn poll_event(&mut self) -> Result<Option<WatchEvent>> {
        if let Some(event) = self.pending.pop_front() {
            match &event {
                WatchEvent::Change(change) => {
                    self.seen = change.revision;
                    if let Some(age) = change.age() {
                        self.lagging(age);
                    }
                }
                WatchEvent::Resync { current, .. } => {
                    self.seen = *current;
                    self.telemetry().resynced(self.follower);
                }
            }
            return Ok(Some(event));
        }
        let keys = self.storage.keys();
        let read = commands::watch::read_changes(keys, self.seen, READ_WAIT);
        let reply: Option<StreamReadReply> = match self.feed.query(&read, READ_WAIT).await {
            Ok(reply) => reply,
            Err(FeedFailure::Lost(error)) => return self.lost(error).await,
            Err(FeedFailure::Refused(error)) => return Err(error),
        };
        self.heard_at = Some(SystemTime::now());
        let found = match commands::watch::changes(keys, reply) {
            Ok(found) => found,
            Err(error) => {
                // An entry this crate did not write: what it stood for is unknown, so it
                // counts as a lost change, and the watcher goes on after it.
                tracing::warn!(%error, "unreadable change feed entry; resync");
                match self.storage.feed_head().await {
                    Ok(now) => self.resync(now),
                    Err(error) if is_transient(&error) => return self.lost(error).await,
                    Err(error) => return Err(error),
                }
                return Ok(None);
            }
        };
        let checked = if found.is_empty() {
            self.lagging(Duration::ZERO);
            self.check_for_restart().await
        } else {
            self.queue(found).await
        };
        match checked {
            Err(error) if is_transient(&error) => self.lost(error).await,
            other => other.map(|()| None),
        }
    }

    /// After a read that may succeed on a new connection: a pause, and nothing yet.
    #[maybe]
    async fn lost(&mut self, error: Error) -> Result<Option<WatchEvent>> {
        tracing::warn!(%error, "change feed read failed; resuming");
        pause(RECONNECT_PAUSE).await;
        Ok(None)
    }

    /// Queues what a read found, or a resync if it does not follow on from `seen` or comes
    /// from another epoch than the watcher's.
    #[maybe]
    async fn queue(&mut self, found: Vec<Change>) -> Result<()> {
        let expected = self.seen + 1;
        let follows = found.first().is_none_or(|first| first.revision == expected);
        if self.epoch.is_none() {
            self.epoch = found.iter().find_map(|change| change.epoch.clone());
        }
        let same_store = found
            .iter()
            .all(|change| self.is_own(change.epoch.as_deref()));
        if !follows || !same_store {
            let now = self.storage.feed_head().await?;
            self.resync(now);
            return Ok(());
        }
        self.pending
            .extend(found.into_iter().map(WatchEvent::Change));
        Ok(())
    }

    /// Whether an entry of `epoch` belongs to the store this watcher follows (an entry
    /// without one was written by an older version of this crate: it does not say).
    fn is_own(&self, epoch: Option<&str>) -> bool {
        match (epoch, self.epoch.as_deref()) {
            (Some(theirs), Some(ours)) => theirs == ours,
            _ => true,
        }
    }

    /// A store whose revision went below what was seen, or whose newest entry has another
    /// epoch, lost its data (a restart without persistence, a flush): what the watcher
    /// holds is gone.
    #[maybe]
    async fn check_for_restart(&mut self) -> Result<()> {
        let now = self.storage.feed_head().await?;
        if now.revision < self.seen || !self.is_own(now.epoch.as_deref()) {
            self.resync(now);
        }
        Ok(())
    }

    /// Replaces what is pending with a resync to `now`, and follows `now`'s epoch on.
    fn resync(&mut self, now: FeedHead) {
        tracing::warn!(
            seen = self.seen,
            current = now.revision,
            "change feed lost changes; resync"
        );
        self.pending.clear();
        self.pending.push_back(WatchEvent::Resync {
            seen: self.seen,
            current: now.revision,
        });
        self.epoch = now.epoch;
    }
}

/// Whether a storage call's error is one a failover or a restart shows, which the watcher
/// waits out instead of returning.
fn is_transient(error: &Error) -> bool {
    error.is_connection_error() || error.is_timeout() || error.is_read_only()
}
