//! `Storage`: the handle every operation hangs off, how one is obtained, and the runners
//! through which every operation reaches Redis.
//!
//! Initialization by construction: the connection is private to this file, and the runners
//! ([`Storage::cmd`], [`Storage::pipe`], [`Storage::script`]) initialize before they send
//! anything. An operation cannot reach Redis without them, so it cannot skip seeding. Only
//! initialization itself and `health_check` use the connection directly, through
//! [`Storage::connection_before_init`].

use std::fmt;
use std::sync::atomic::{self, AtomicU64};
use std::sync::Arc;

use redis::{Cmd, FromRedisValue, Pipeline};

use super::{lock_init, maybe, operation, try_lock_init, Connection, InitLock, MODE};
use crate::commands::{self, Audit, Call, ScriptCall};
use crate::config::StorageConfig;
use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::{Health, Stats};
use crate::retry::{Deadline, Effect};
use crate::state::SharedState;
use crate::telemetry::Telemetry;

/// The gateway's storage. Cheap to clone; clones share connections and initialization.
///
/// Every way of obtaining a usable storage initializes it (seeds the default proxies and
/// routes, repairs `localhost`): [`connect`](Self::connect) does it at once, and a storage
/// made with [`new`](Self::new) does it on its first operation, exactly once per instance.
/// With both features, a handle of the other mode taken from this one shares its
/// initialization and defaults schedule (see [`crate::UnifiedStorage`]).
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<SharedState>,
    connection: Connection,
    init_lock: InitLock,
    // The connection's epoch at the last defaults check: a reconnection makes the next
    // operation check again, so a Redis that lost its data gets its defaults back. The
    // interval since the last check is shared by both modes' handles.
    checked_epoch: AtomicU64,
}

impl Storage {
    /// A storage that connects and initializes on first use; no I/O happens here, so this
    /// only fails on a bad configuration (a URL that is not `redis://`, a duration out of
    /// bounds: see [`StorageConfig::validate`]).
    pub fn new<C>(config: C) -> Result<Self>
    where
        C: TryInto<StorageConfig>,
        Error: From<C::Error>,
    {
        let config = config.try_into()?;
        config.validate()?;
        Storage::sharing(Arc::new(SharedState::new(config)))
    }

    /// A handle with connections of its own on `shared`: for a storage of the other mode
    /// handing out this one. No I/O.
    pub(crate) fn sharing(shared: Arc<SharedState>) -> Result<Self> {
        Ok(Storage {
            inner: Arc::new(Inner {
                connection: Connection::new(
                    shared.config.connection_settings(),
                    Arc::clone(&shared.telemetry),
                )?,
                shared,
                init_lock: InitLock::default(),
                checked_epoch: AtomicU64::new(0),
            }),
        })
    }

    /// What this handle shares with the other mode's handles on the same storage.
    pub(crate) fn shared_state(&self) -> &Arc<SharedState> {
        &self.inner.shared
    }

    /// Connects and initializes now, so a bad URL, an unreachable Redis or a corrupt default
    /// record is reported here rather than on first use.
    #[maybe]
    pub async fn connect<C>(config: C) -> Result<Self>
    where
        C: TryInto<StorageConfig>,
        Error: From<C::Error>,
    {
        let storage = Storage::new(config)?;
        storage.initialize().await?;
        Ok(storage)
    }

    /// The settings this storage was made with.
    pub fn config(&self) -> &StorageConfig {
        &self.inner.shared.config
    }

    /// The key names this storage uses.
    pub fn keys(&self) -> &KeySpace {
        &self.inner.shared.keys
    }

    /// Who this storage's writes are by, and the history they keep.
    pub(crate) fn audit(&self) -> &Audit {
        &self.inner.shared.audit
    }

    /// Whether Redis answers `PING`. Does not initialize, on purpose: a probe must not write.
    #[operation]
    pub async fn health_check(&self) -> Result<()> {
        let _: String = self
            .connection_before_init()
            .send(
                Call::Cmd(&commands::ping()),
                Effect::Read,
                self.call_deadline(),
            )
            .await?;
        Ok(())
    }

    /// What a readiness probe needs: whether Redis answers (one `PING`, within
    /// [`call_timeout`](StorageConfig::call_timeout)), the topology and the master in use,
    /// whether the store is initialized and when the defaults were last checked, and the
    /// live configuration's revision, lag and staleness. It never writes to Redis and never
    /// initializes the store; it fails only in the sense that [`Health::is_ready`] is
    /// false.
    ///
    /// ```text
    /// let health = storage.health().await;
    /// let status = if health.is_ready() { 200 } else { 503 };
    /// ```
    #[maybe]
    pub async fn health(&self) -> Health {
        let pinged = self.health_check().await;
        let shared = &self.inner.shared;
        Health {
            connected: pinged.is_ok(),
            problem: pinged.err().map(|error| error.to_string()),
            topology: self.inner.connection.settings().nodes.topology,
            master: shared.telemetry.master(),
            initialized: shared.is_initialized(),
            defaults_checked_at: shared.checked_at(),
            live: shared.live_config().map(|live| live.health()),
        }
    }

    /// This storage's counters since it was made, over the handles of both modes: the
    /// figures the `metrics` feature exports, for a caller without it. No I/O.
    ///
    /// ```text
    /// let stats = storage.stats();
    /// assert!(stats.failed_operations <= stats.operations);
    /// ```
    pub fn stats(&self) -> Stats {
        let shared = &self.inner.shared;
        let mut stats = shared.telemetry.stats();
        if let Some(live) = shared.live_config() {
            live.stats(&mut stats);
        }
        stats
    }

    /// Where every operation's figures go.
    pub(crate) fn telemetry(&self) -> &Arc<Telemetry> {
        &self.inner.shared.telemetry
    }
}

/// The runners: the only way operations reach Redis. Each initializes first.
impl Storage {
    /// [`ready`](Self::ready) before `call`, except that a call outside the configuration's
    /// keys (an OAuth token under its own hash tag, on another master of a cluster) does
    /// not wait for a re-check of the defaults: it does not read them, and its master may
    /// be up while the configuration's is failing over.
    #[maybe]
    async fn ready_for(&self, call: Call<'_>, deadline: Deadline) -> Result<()> {
        let outside = call
            .first_key()
            .is_some_and(|key| !key.starts_with(self.keys().prefix().as_bytes()));
        if outside && self.inner.shared.is_initialized() {
            return Ok(());
        }
        self.ready_by(deadline).await
    }

    /// [`ready_by`](Self::ready_by) for a step that is a call of its own.
    #[maybe]
    pub(super) async fn ready(&self) -> Result<()> {
        self.ready_by(self.call_deadline()).await
    }

    /// Initializes if this instance has not yet, and checks the defaults again when the
    /// connection was re-established or `defaults_check_interval` has passed since the last
    /// check: a Redis that restarted empty or was flushed gets them back. Called by every
    /// runner. A failed first initialization is the caller's error; a failed later check is
    /// logged and tried again at the next interval, so a record an operator broke after
    /// start does not stop every operation. Only the first initialization is waited for:
    /// while another caller re-checks, the rest go on, so a check stuck behind a failover
    /// of the configuration's master does not hold up calls to other masters.
    ///
    /// The check is part of the call that asked for it and ends by its `deadline`. A check
    /// that timed out (Redis did not answer within `response_timeout`) or used the call's
    /// time up fails the call with its error, instead of making the call wait a second time.
    #[maybe]
    async fn ready_by(&self, deadline: Deadline) -> Result<()> {
        if !self.defaults_check_due() {
            return Ok(());
        }
        let inner = &self.inner;
        let first = !inner.shared.is_initialized();
        let _guard = if first {
            lock_init(&inner.init_lock).await
        } else {
            match try_lock_init(&inner.init_lock) {
                Some(guard) => guard,
                None => return Ok(()),
            }
        };
        if !self.defaults_check_due() {
            return Ok(());
        }
        let first = !inner.shared.is_initialized();
        let epoch = inner.connection.epoch();
        match self.seed(deadline).await {
            Ok(()) => {}
            Err(error) if first || error.is_timeout() || deadline.passed() => return Err(error),
            Err(error) => {
                tracing::warn!(%error, "could not check the default records; will check again");
            }
        }
        inner.checked_epoch.store(epoch, atomic::Ordering::Relaxed);
        inner.shared.checked();
        Ok(())
    }

    fn defaults_check_due(&self) -> bool {
        let inner = &self.inner;
        !inner.shared.is_initialized()
            || inner.connection.epoch() != inner.checked_epoch.load(atomic::Ordering::Relaxed)
            || inner.shared.check_interval_passed()
    }

    /// Runs `call`, after initializing. A read whose connection was re-established while
    /// it ran runs again after the defaults are checked: Redis may have come back empty, and
    /// the first read after a restart must already see them.
    ///
    /// The whole of it, the defaults check and the second read included, ends within
    /// [`StorageConfig::call_timeout`].
    ///
    /// A key of the wrong type that Redis itself reported (naming no key) is
    /// [`Error::WrongType`] naming the call's key, for a command or script about one record.
    #[maybe]
    async fn send<T: FromRedisValue>(&self, call: Call<'_>, effect: Effect) -> Result<T> {
        self.send_within(call, effect)
            .await
            .map_err(|error| match call {
                Call::Cmd(_) | Call::Script(_) => match call.first_key() {
                    Some(key) => error.about(&String::from_utf8_lossy(key)),
                    None => error,
                },
                Call::Pipe(_) | Call::On(..) => error,
            })
    }

    /// [`send`](Self::send) without naming the key of a wrong type.
    #[maybe]
    async fn send_within<T: FromRedisValue>(&self, call: Call<'_>, effect: Effect) -> Result<T> {
        let deadline = self.call_deadline();
        self.ready_for(call, deadline).await?;
        let connection = &self.inner.connection;
        let epoch = connection.epoch();
        let reply = connection.send(call, effect, deadline).await;
        if effect.writes() || connection.epoch() == epoch || deadline.passed() {
            return reply;
        }
        self.ready_for(call, deadline).await?;
        connection.send(call, effect, deadline).await
    }

    /// Runs one command that writes; sent again after a failure that left its outcome
    /// unknown, so running it twice must do what running it once does.
    #[maybe]
    pub(super) async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.send(Call::Cmd(cmd), Effect::Write).await
    }

    /// [`cmd`](Self::cmd) for a write that must not run twice (creating only if absent): a
    /// failure after it was sent is [`Error::OutcomeUnknown`].
    #[maybe]
    pub(super) async fn cmd_once<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.send(Call::Cmd(cmd), Effect::WriteOnce).await
    }

    /// Runs a pipeline of writes (one round trip; on a cluster one per slot). Sent again
    /// like [`cmd`](Self::cmd).
    #[maybe]
    pub(super) async fn pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        self.send(Call::Pipe(pipe), Effect::Write).await
    }

    /// Runs a script call that writes. Sent again like [`cmd`](Self::cmd).
    #[maybe]
    pub(super) async fn script<T: FromRedisValue>(&self, call: &ScriptCall) -> Result<T> {
        self.send(Call::Script(call), Effect::Write).await
    }

    /// [`script`](Self::script) for a write that must not run twice (consuming a code,
    /// rotating a token, taking a lock): a failure after it was sent is
    /// [`Error::OutcomeUnknown`].
    #[maybe]
    pub(super) async fn script_once<T: FromRedisValue>(&self, call: &ScriptCall) -> Result<T> {
        self.send(Call::Script(call), Effect::WriteOnce).await
    }

    /// Runs a command that only reads (see [`send`](Self::send) for a reconnection).
    #[maybe]
    pub(super) async fn read_cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.send(Call::Cmd(cmd), Effect::Read).await
    }

    /// [`read_cmd`](Self::read_cmd) for a pipeline that only reads.
    #[maybe]
    pub(super) async fn read_pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        self.send(Call::Pipe(pipe), Effect::Read).await
    }

    /// [`read_cmd`](Self::read_cmd) for a script that only reads.
    #[maybe]
    pub(super) async fn read_script<T: FromRedisValue>(&self, call: &ScriptCall) -> Result<T> {
        self.send(Call::Script(call), Effect::Read).await
    }

    /// Every key matching `pattern`, after initializing.
    #[maybe]
    pub(super) async fn scan(&self, pattern: &str) -> Result<Vec<String>> {
        self.ready().await?;
        scan_keys(&self.inner.connection, pattern).await
    }

    /// The connection without initializing: for initialization itself, which cannot wait
    /// for itself, and for `health_check`, which must not write. Nothing else may use it.
    pub(super) fn connection_before_init(&self) -> &Connection {
        &self.inner.connection
    }

    /// The deadline of a call that starts now: [`StorageConfig::call_timeout`] away.
    pub(super) fn call_deadline(&self) -> Deadline {
        Deadline::for_call(self.inner.connection.settings())
    }
}

/// Every key matching `pattern`, in `SCAN` steps over the whole keyspace: on a cluster,
/// over every master's. Takes the connection, so that initialization can scan before it is
/// done.
#[maybe]
pub(super) async fn scan_keys(connection: &Connection, pattern: &str) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for node in connection.scan_nodes().await? {
        let mut cursor = 0;
        loop {
            let step = commands::scan(cursor, pattern);
            let (next, mut batch): (u64, Vec<String>) = connection
                .send(
                    Call::On(&node, &step),
                    Effect::Read,
                    Deadline::for_call(connection.settings()),
                )
                .await?;
            found.append(&mut batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(found)
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("mode", &MODE)
            .field("url", &self.inner.shared.config.url)
            .field("key_prefix", &self.inner.shared.keys.prefix())
            .finish_non_exhaustive()
    }
}
