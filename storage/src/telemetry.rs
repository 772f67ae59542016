//! What a storage counts about itself: plain atomics read by `Storage::stats()`, and with
//! the `metrics` feature the same events through the `metrics` facade, under the names in
//! [`crate::metrics`].
//!
//! One `Telemetry` per storage, shared by the handles of both modes. Every event is a
//! method here, so each is counted and exported in one place; a label is always a bounded
//! name (an operation, a mode, an error kind, a family, a default record, a master's
//! address), never a key, a value or a token.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::keys::KeySpace;
use crate::model::{Stats, StoredFamily};

/// The storage's counters; see the module docs.
pub(crate) struct Telemetry {
    /// The storage's key names, to tell a corrupt record's family.
    keys: KeySpace,
    counts: Counts,
}

/// What `stats()` reads, all starting at zero.
#[derive(Default)]
struct Counts {
    operations: AtomicU64,
    failed_operations: AtomicU64,
    connections_open: AtomicU64,
    connections_in_use: AtomicU64,
    connection_wait_ns: AtomicU64,
    resends: AtomicU64,
    outcome_unknown: AtomicU64,
    reconnects: AtomicU64,
    failovers: AtomicU64,
    not_replicated: AtomicU64,
    defaults_reseeded: AtomicU64,
    corrupt_records: AtomicU64,
    resyncs: AtomicU64,
    /// The change-feed lag a follower saw last, in ms plus one (0: none seen yet).
    feed_lag_ms: AtomicU64,
    /// Set by a connection failure: the next connection opened is a reconnection.
    failed_since_open: AtomicBool,
    /// The master the last connection opened to (`host:port`), where one is known.
    master: Mutex<Option<String>>,
}

/// Which kind of follower a change-feed figure is about.
#[derive(Clone, Copy)]
pub(crate) enum FollowerKind {
    Watcher,
    LiveConfig,
}

impl FollowerKind {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code, reason = "a label"))]
    fn label(self) -> &'static str {
        match self {
            FollowerKind::Watcher => "watcher",
            FollowerKind::LiveConfig => "live_config",
        }
    }
}

impl Telemetry {
    pub(crate) fn new(keys: KeySpace) -> Self {
        Telemetry {
            keys,
            counts: Counts::default(),
        }
    }

    /// A public operation that ended: `error` is its error, if it failed. A corrupt record
    /// it failed on is counted as met.
    pub(crate) fn operation(&self, site: &OperationSite, started: Instant, error: Option<&Error>) {
        self.counts.operations.fetch_add(1, Ordering::Relaxed);
        if error.is_some() {
            self.counts
                .failed_operations
                .fetch_add(1, Ordering::Relaxed);
        }
        if let Some(Error::Corrupt { key, .. }) = error {
            self.corrupt_met(key);
        }
        #[cfg(feature = "metrics")]
        site.record(started.elapsed(), error);
        #[cfg(not(feature = "metrics"))]
        let _ = (site, started);
    }

    /// A call got a connection after waiting `waited` for it (opening one included).
    pub(crate) fn connection_taken(&self, connection: &OpenConnection, waited: Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.counts
            .connection_wait_ns
            .fetch_add(nanos, Ordering::Relaxed);
        let first = connection.calls.fetch_add(1, Ordering::Relaxed) == 0;
        if first {
            self.counts
                .connections_in_use
                .fetch_add(1, Ordering::Relaxed);
        }
        #[cfg(feature = "metrics")]
        exported::CONNECTIONS.with(|handles| {
            handles.wait_time.record(waited.as_secs_f64());
            if first {
                handles.used.increment(1.0);
                handles.idle.decrement(1.0);
            }
        });
    }

    /// A call is done with its connection.
    pub(crate) fn connection_given_back(&self, connection: &OpenConnection) {
        let last = connection.calls.fetch_sub(1, Ordering::Relaxed) == 1;
        if last {
            self.counts
                .connections_in_use
                .fetch_sub(1, Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            exported::CONNECTIONS.with(|handles| {
                handles.used.decrement(1.0);
                handles.idle.increment(1.0);
            });
        }
    }

    /// A connection opened, to `master` where the topology names one. Counts a reconnection
    /// after a connection failure, and a failover followed when the master changed.
    pub(crate) fn connection_opened(self: &Arc<Self>, master: Option<String>) -> OpenConnection {
        self.counts.connections_open.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        exported::CONNECTIONS.with(|handles| handles.idle.increment(1.0));
        let reconnected = self.counts.failed_since_open.swap(false, Ordering::Relaxed);
        let address = master.clone().unwrap_or_else(|| "cluster".to_owned());
        if reconnected {
            self.counts.reconnects.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            metrics::counter!(crate::metrics::names::RECONNECTS, "server.address" => address.clone())
                .increment(1);
        }
        if let Some(master) = master {
            let mut known = self
                .counts
                .master
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if known.as_ref().is_some_and(|before| *before != master) {
                self.counts.failovers.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%master, "following a failover to a new master");
                #[cfg(feature = "metrics")]
                metrics::counter!(crate::metrics::names::FAILOVERS, "server.address" => address.clone())
                    .increment(1);
            }
            *known = Some(master);
        }
        let _ = address;
        OpenConnection {
            telemetry: Arc::clone(self),
            calls: AtomicU64::new(0),
        }
    }

    /// A connection failed: the next one opened replaces it.
    pub(crate) fn connection_failed(&self) {
        self.counts.failed_since_open.store(true, Ordering::Relaxed);
    }

    /// The master connections go to now, where the topology names one.
    pub(crate) fn master(&self) -> Option<String> {
        self.counts
            .master
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A call is sent again (after a failure that left it unapplied, or whose repeat is
    /// harmless).
    pub(crate) fn resent(&self) {
        self.counts.resends.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(crate::metrics::names::RESENDS).increment(1);
    }

    /// A write was refused as [`Error::OutcomeUnknown`].
    pub(crate) fn outcome_unknown(&self) {
        self.counts.outcome_unknown.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(crate::metrics::names::OUTCOME_UNKNOWN).increment(1);
    }

    /// A write was applied but fewer replicas than asked confirmed it.
    pub(crate) fn not_replicated(&self) {
        self.counts.not_replicated.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(crate::metrics::names::NOT_REPLICATED).increment(1);
    }

    /// A default record (`proxy:localhost`, `route:…`) was written because it was missing
    /// or lacked what it must hold.
    pub(crate) fn default_reseeded(&self, record: &str) {
        self.counts
            .defaults_reseeded
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(%record, "default record written");
        #[cfg(feature = "metrics")]
        metrics::counter!(crate::metrics::names::DEFAULTS_RESEEDED, "record" => record.to_owned())
            .increment(1);
    }

    /// A corrupt record was met at `key` (read, listed or backed up); counted by family.
    pub(crate) fn corrupt_met(&self, key: &str) {
        self.counts.corrupt_records.fetch_add(1, Ordering::Relaxed);
        let family = family_of(&self.keys, key);
        #[cfg(feature = "metrics")]
        metrics::counter!(crate::metrics::names::CORRUPT_RECORDS, "family" => family).increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = family;
    }

    /// A follower found the feed had lost changes (trimmed, or Redis lost its data).
    pub(crate) fn resynced(&self, follower: FollowerKind) {
        self.counts.resyncs.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(crate::metrics::names::FEED_RESYNCS, "follower" => follower.label())
            .increment(1);
        #[cfg(not(feature = "metrics"))]
        let _ = follower;
    }

    /// How far behind the feed's newest change a follower is (zero when it is caught up).
    pub(crate) fn feed_lag(&self, follower: FollowerKind, lag: Duration) {
        let ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX - 1);
        self.counts.feed_lag_ms.store(ms + 1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::gauge!(crate::metrics::names::FEED_LAG, "follower" => follower.label())
            .set(lag.as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let _ = follower;
    }

    /// The live configuration's snapshot: its revision, and how long since its follower
    /// last heard from Redis.
    pub(crate) fn snapshot(&self, revision: u64, age: Duration) {
        #[cfg(feature = "metrics")]
        {
            use crate::metrics::names;
            metrics::gauge!(names::SNAPSHOT_REVISION).set(revision as f64);
            metrics::gauge!(names::SNAPSHOT_AGE).set(age.as_secs_f64());
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (revision, age);
    }

    /// The counters as they stand; the live configuration's part is the caller's.
    pub(crate) fn stats(&self) -> Stats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let counts = &self.counts;
        Stats {
            operations: get(&counts.operations),
            failed_operations: get(&counts.failed_operations),
            connections_open: get(&counts.connections_open),
            connections_in_use: get(&counts.connections_in_use),
            connection_wait: Duration::from_nanos(get(&counts.connection_wait_ns)),
            resends: get(&counts.resends),
            outcome_unknown: get(&counts.outcome_unknown),
            reconnects: get(&counts.reconnects),
            failovers: get(&counts.failovers),
            not_replicated: get(&counts.not_replicated),
            defaults_reseeded: get(&counts.defaults_reseeded),
            corrupt_records: get(&counts.corrupt_records),
            feed_resyncs: get(&counts.resyncs),
            feed_lag: get(&counts.feed_lag_ms)
                .checked_sub(1)
                .map(Duration::from_millis),
            snapshot_revision: None,
            snapshot_age: None,
        }
    }
}

/// Held by every open connection (shared by a multiplexed connection's clones): counts it
/// open until it is dropped, and in use while a call holds it.
pub(crate) struct OpenConnection {
    telemetry: Arc<Telemetry>,
    /// Calls holding it now: one at most for a pooled connection, any number for a
    /// multiplexed one, which is in use while there is one.
    calls: AtomicU64,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.telemetry
            .counts
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        exported::CONNECTIONS.with(|handles| handles.idle.decrement(1.0));
    }
}

/// One public operation's place in the code, made by `#[operation]` as a `static` per
/// operation and mode, so that recording its duration finds its metric without building
/// labels or looking anything up.
#[cfg_attr(
    not(feature = "metrics"),
    allow(dead_code, reason = "the labels of the metrics feature")
)]
pub(crate) struct OperationSite {
    name: &'static str,
    mode: &'static str,
    #[cfg(feature = "metrics")]
    succeeded: exported::Cached<metrics::Histogram>,
}

impl OperationSite {
    pub(crate) const fn new(name: &'static str, mode: &'static str) -> Self {
        OperationSite {
            name,
            mode,
            #[cfg(feature = "metrics")]
            succeeded: exported::Cached::new(),
        }
    }

    #[cfg(feature = "metrics")]
    fn record(&self, took: Duration, error: Option<&Error>) {
        use crate::metrics::names::OPERATION_DURATION;
        let (name, mode) = (self.name, self.mode);
        let seconds = took.as_secs_f64();
        match error {
            None => self.succeeded.with_made(
                || {
                    metrics::histogram!(
                        OPERATION_DURATION,
                        "db.system.name" => "redis",
                        "db.operation.name" => name,
                        "mode" => mode,
                        "outcome" => "ok",
                    )
                },
                |histogram| histogram.record(seconds),
            ),
            Some(error) => metrics::histogram!(
                OPERATION_DURATION,
                "db.system.name" => "redis",
                "db.operation.name" => name,
                "mode" => mode,
                "outcome" => "error",
                "error.type" => error.kind(),
            )
            .record(seconds),
        }
    }
}

/// The metric handles used on every call, kept so that a call records without building
/// labels or looking the metric up in the recorder.
#[cfg(feature = "metrics")]
mod exported {
    use std::sync::Arc;

    use arc_swap::ArcSwapOption;
    use metrics::{Gauge, Histogram};

    use crate::metrics::names;

    /// A handle made for the recorder in use when it was made, and made again for another:
    /// a storage used before the recorder was installed records into it from then on.
    pub(super) struct Cached<T>(ArcSwapOption<(usize, T)>);

    impl<T> Cached<T> {
        pub(super) const fn new() -> Self {
            Cached(ArcSwapOption::const_empty())
        }

        /// Runs `with` on the handle for the recorder in use, made by `make` if there is
        /// none yet.
        pub(super) fn with_made(&self, make: impl FnOnce() -> T, with: impl FnOnce(&T)) {
            // The recorder's address tells one recorder from another (the no-op one, then
            // the installed one); it is set once per process.
            let recorder = metrics::with_recorder(|recorder| {
                std::ptr::from_ref(recorder).cast::<()>() as usize
            });
            let cached = self.0.load();
            match cached.as_deref() {
                Some((made_for, handle)) if *made_for == recorder => with(handle),
                _ => {
                    let handle = make();
                    with(&handle);
                    self.0.store(Some(Arc::new((recorder, handle))));
                }
            }
        }
    }

    /// The connection metrics, whose labels never change.
    pub(super) struct ConnectionHandles {
        pub(super) used: Gauge,
        pub(super) idle: Gauge,
        pub(super) wait_time: Histogram,
    }

    pub(super) struct ConnectionMetrics(Cached<ConnectionHandles>);

    impl ConnectionMetrics {
        pub(super) fn with(&self, with: impl FnOnce(&ConnectionHandles)) {
            self.0.with_made(
                || {
                    let state = "db.client.connection.state";
                    ConnectionHandles {
                        used: metrics::gauge!(names::CONNECTION_COUNT, state => "used"),
                        idle: metrics::gauge!(names::CONNECTION_COUNT, state => "idle"),
                        wait_time: metrics::histogram!(names::CONNECTION_WAIT_TIME),
                    }
                },
                with,
            );
        }
    }

    /// Every storage's connections, in one gauge per state: increments add up over storages.
    pub(super) static CONNECTIONS: ConnectionMetrics = ConnectionMetrics(Cached::new());
}

/// The family a key belongs to, as a bounded label: a backup's family name, `oauth` for the
/// authorization server's other records, else `other`.
fn family_of(keys: &KeySpace, key: &str) -> &'static str {
    if let Some(family) = StoredFamily::ALL
        .into_iter()
        .find(|family| key.starts_with(&family.key_prefix(keys)))
    {
        return family.name();
    }
    let spread = key.strip_prefix(&keys.spread_prefix()).unwrap_or(key);
    if spread.starts_with("oauth:") || spread.starts_with("device_") {
        "oauth"
    } else {
        "other"
    }
}
