//! `Storage`: the handle every operation hangs off, how one is obtained, and the runners
//! through which every operation reaches Redis.
//!
//! Initialization by construction: the connection is private to this file, and the runners
//! ([`Storage::cmd`], [`Storage::pipe`], [`Storage::script`]) initialize before they send
//! anything. An operation cannot reach Redis without them, so it cannot skip seeding. Only
//! initialization itself and `health_check` use the connection directly, through
//! [`Storage::connection_before_init`].

use std::cmp::Ordering;
use std::fmt;
use std::sync::atomic::{self, AtomicBool};
use std::sync::Arc;

use redis::{Cmd, FromRedisValue, Pipeline, ScriptInvocation};

use super::{lock_init, maybe, operation, Connection, InitLock, MODE};
use crate::commands::{self, WriteOutcome};
use crate::config::StorageConfig;
use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::{self, Listing, Record};

/// The gateway's storage. Cheap to clone; clones share connections and initialization.
///
/// Every way of obtaining a usable storage initializes it (seeds the default proxies and
/// routes, repairs `localhost`): [`connect`](Self::connect) does it at once, and a storage
/// made with [`new`](Self::new) does it on its first operation, exactly once per instance.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    keys: KeySpace,
    config: StorageConfig,
    initialized: AtomicBool,
    init_lock: InitLock,
}

impl Storage {
    /// A storage that connects and initializes on first use; no I/O happens here, so this
    /// only fails on a bad configuration (for example a URL that is not `redis://`).
    pub fn new<C>(config: C) -> Result<Self>
    where
        C: TryInto<StorageConfig>,
        Error: From<C::Error>,
    {
        let config = config.try_into()?;
        Ok(Storage {
            inner: Arc::new(Inner {
                connection: Connection::new(&config)?,
                keys: config.key_space(),
                config,
                initialized: AtomicBool::new(false),
                init_lock: InitLock::default(),
            }),
        })
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
        &self.inner.config
    }

    /// The key names this storage uses.
    pub fn keys(&self) -> &KeySpace {
        &self.inner.keys
    }

    /// Whether Redis answers `PING`. Does not initialize, on purpose: a probe must not write.
    #[operation]
    pub async fn health_check(&self) -> Result<()> {
        let _: String = self.connection_before_init().cmd(&commands::ping()).await?;
        Ok(())
    }
}

/// The runners: the only way operations reach Redis. Each initializes first.
impl Storage {
    /// Initializes if this instance has not yet. Called by every runner.
    #[maybe]
    pub(super) async fn ready(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.initialized.load(atomic::Ordering::Acquire) {
            return Ok(());
        }
        let _guard = lock_init(&inner.init_lock).await;
        if inner.initialized.load(atomic::Ordering::Acquire) {
            return Ok(());
        }
        self.seed().await?;
        inner.initialized.store(true, atomic::Ordering::Release);
        Ok(())
    }

    /// Runs one command, after initializing.
    #[maybe]
    pub(super) async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.ready().await?;
        self.inner.connection.cmd(cmd).await
    }

    /// Runs a pipeline (one round trip), after initializing.
    #[maybe]
    pub(super) async fn pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        self.ready().await?;
        self.inner.connection.pipe(pipe).await
    }

    /// Runs a script call, after initializing.
    #[maybe]
    pub(super) async fn script<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> Result<T> {
        self.ready().await?;
        self.inner.connection.script(call).await
    }

    /// The connection without initializing: for initialization itself, which cannot wait
    /// for itself, and for `health_check`, which must not write. Nothing else may use it.
    pub(super) fn connection_before_init(&self) -> &Connection {
        &self.inner.connection
    }
}

/// What every family's operations share: reads, optimistic updates, listings.
impl Storage {
    /// The record at `key`, decoded, if there is one. One round trip.
    #[maybe]
    pub(super) async fn read<T: Record>(&self, key: &str) -> Result<Option<T>> {
        let raw = self.read_raw(key).await?;
        raw.map(|raw| model::decode(key, &raw)).transpose()
    }

    /// The bytes at `key` and their decoding, if there are any: what a conditional write
    /// compares against. One round trip.
    #[maybe]
    pub(super) async fn read_with_raw<T: Record>(&self, key: &str) -> Result<Option<(Vec<u8>, T)>> {
        let raw = self.read_raw(key).await?;
        raw.map(|raw| model::decode(key, &raw).map(|record| (raw, record)))
            .transpose()
    }

    /// The bytes at `key`, if there are any. One round trip.
    #[maybe]
    pub(super) async fn read_raw(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.cmd(&commands::get(key)).await
    }

    /// The optimistic read-modify-write every `update_*` is: read, `edit`, validate, write
    /// back only if the record is unchanged, else again; up to `max_update_attempts`.
    /// Fields the model does not know are kept, and so is the record's TTL.
    #[maybe]
    pub(super) async fn update<T: Record>(
        &self,
        key: String,
        mut edit: impl FnMut(&mut T),
    ) -> Result<T> {
        for _ in 0..self.config().max_update_attempts {
            let raw = self.read_raw(&key).await?;
            let (record, json) = model::edit(&key, raw.as_deref(), &mut edit)?;
            let call = commands::compare_and_set(&key, raw.as_deref().unwrap_or_default(), &json);
            let reply: String = self.script(&call).await?;
            if WriteOutcome::parse(&reply)? == WriteOutcome::Written {
                return Ok(record);
            }
        }
        Err(self.contention(key))
    }

    /// The error of an optimistic write that lost `max_update_attempts` races at `key`.
    pub(super) fn contention(&self, key: String) -> Error {
        Error::Contention {
            key,
            attempts: self.config().max_update_attempts,
        }
    }

    /// Runs a listing script and decodes its records, sorted by `order`; corrupt records are
    /// reported in the listing.
    #[maybe]
    pub(super) async fn listing<T: Record>(
        &self,
        call: ScriptInvocation<'static>,
        key_of: impl Fn(&KeySpace, &str) -> String,
        order: impl FnMut(&T, &T) -> Ordering,
    ) -> Result<Listing<T>> {
        let reply: Vec<Vec<u8>> = self.script(&call).await?;
        let keys = self.keys();
        let entries = commands::listed_records(reply, |member| key_of(keys, member));
        Ok(Listing::decode(entries).sorted_by(order))
    }
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("mode", &MODE)
            .field("url", &self.inner.config.url)
            .field("key_prefix", &self.inner.keys.prefix())
            .finish_non_exhaustive()
    }
}
