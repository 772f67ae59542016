//! How a built command reaches Redis: the one place where the two modes differ.
//!
//! redis-rs spells running a command differently per mode (`query` vs `query_async`, `invoke`
//! vs `invoke_async`) and has different connection types, so each item here exists once per
//! mode, picked by `#[blocking_only]` / `#[async_only]`. They share names and signatures (minus
//! `async`), so everything that calls them is written once.
//!
//! Both modes retry a command whose connection turned out to be dead before it answered (Redis
//! restarted, or dropped an idle client): the blocking pool discards the broken connection and
//! hands out another, the async manager reconnects.

use redis::{Cmd, FromRedisValue, Pipeline, ScriptInvocation};

use super::{async_only, blocking_only};
use crate::config::StorageConfig;
use crate::error::{Error, Result};

/// Opens connections with the configured timeouts; r2d2 pools them.
#[blocking_only]
#[derive(Debug)]
struct Manager {
    client: redis::Client,
    config: StorageConfig,
}

#[blocking_only]
impl r2d2::ManageConnection for Manager {
    type Connection = redis::Connection;
    type Error = redis::RedisError;

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let connection = self
            .client
            .get_connection_with_timeout(self.config.connect_timeout)?;
        connection.set_read_timeout(Some(self.config.response_timeout))?;
        connection.set_write_timeout(Some(self.config.response_timeout))?;
        Ok(connection)
    }

    fn is_valid(&self, connection: &mut redis::Connection) -> redis::RedisResult<()> {
        crate::commands::ping().query(connection)
    }

    fn has_broken(&self, connection: &mut redis::Connection) -> bool {
        !redis::ConnectionLike::is_open(connection)
    }
}

/// A pool of blocking connections, shared by every thread using the storage.
#[blocking_only]
pub(super) struct Connection {
    pool: r2d2::Pool<Manager>,
    reconnect_attempts: u32,
}

#[blocking_only]
impl Connection {
    /// Builds the pool without connecting; connections open on first use.
    pub(super) fn new(config: &StorageConfig) -> Result<Self> {
        let manager = Manager {
            client: config.url.client()?,
            config: config.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .connection_timeout(config.connect_timeout)
            // A PING per checkout would double the round trips; broken connections are
            // detected by their own errors instead (see `with_connection`).
            .test_on_check_out(false)
            .build_unchecked(manager);
        Ok(Connection {
            pool,
            reconnect_attempts: config.pool_size + 1,
        })
    }

    fn with_connection<T>(
        &self,
        run: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            let mut connection = self.pool.get().map_err(|e| Error::Connection {
                reason: e.to_string(),
            })?;
            match run(&mut connection) {
                Err(e) if e.is_connection_dropped() && attempt < self.reconnect_attempts => {
                    attempt += 1;
                }
                result => return result.map_err(Error::from),
            }
        }
    }

    pub(super) fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.with_connection(|connection| cmd.query(connection))
    }

    pub(super) fn pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        self.with_connection(|connection| pipe.query(connection))
    }

    pub(super) fn script<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> Result<T> {
        self.with_connection(|connection| call.invoke(connection))
    }
}

/// One multiplexed, auto-reconnecting connection, shared by every task using the storage.
#[async_only]
pub(super) struct Connection {
    client: redis::Client,
    config: redis::aio::ConnectionManagerConfig,
    // Created on first use, inside the caller's runtime, so `Storage::new` needs none.
    manager: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
}

/// Commands retried after the manager reconnects.
#[async_only]
const RECONNECT_ATTEMPTS: u32 = 2;

#[async_only]
impl Connection {
    /// Prepares the connection without opening it.
    pub(super) fn new(config: &StorageConfig) -> Result<Self> {
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.response_timeout))
            .set_number_of_retries(2);
        Ok(Connection {
            client: config.url.client()?,
            config: manager_config,
            manager: tokio::sync::OnceCell::new(),
        })
    }

    async fn manager(&self) -> Result<redis::aio::ConnectionManager> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                redis::aio::ConnectionManager::new_lazy_with_config(
                    self.client.clone(),
                    self.config.clone(),
                )
            })
            .await?;
        Ok(manager.clone())
    }

    async fn with_connection<T, F>(
        &self,
        run: impl Fn(redis::aio::ConnectionManager) -> F,
    ) -> Result<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let mut attempt = 0;
        loop {
            match run(self.manager().await?).await {
                Err(e) if e.is_connection_dropped() && attempt < RECONNECT_ATTEMPTS => {
                    attempt += 1;
                }
                result => return result.map_err(Error::from),
            }
        }
    }

    pub(super) async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.with_connection(|mut manager| async move { cmd.query_async(&mut manager).await })
            .await
    }

    pub(super) async fn pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        self.with_connection(|mut manager| async move { pipe.query_async(&mut manager).await })
            .await
    }

    pub(super) async fn script<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> Result<T> {
        self.with_connection(|mut manager| async move { call.invoke_async(&mut manager).await })
            .await
    }
}

/// Serializes initialization within one `Storage`.
#[blocking_only]
pub(super) type InitLock = std::sync::Mutex<()>;

#[blocking_only]
pub(super) fn lock_init(lock: &InitLock) -> std::sync::MutexGuard<'_, ()> {
    // A panic in another initializer leaves nothing half-done in memory; carry on.
    lock.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serializes initialization within one `Storage`.
#[async_only]
pub(super) type InitLock = tokio::sync::Mutex<()>;

#[async_only]
pub(super) async fn lock_init(lock: &InitLock) -> tokio::sync::MutexGuard<'_, ()> {
    lock.lock().await
}

/// Waits without holding a connection: the thread sleeps.
#[blocking_only]
pub(super) fn pause(duration: std::time::Duration) {
    std::thread::sleep(duration);
}

/// Waits without holding a connection: the task yields to the runtime.
#[async_only]
pub(super) async fn pause(duration: std::time::Duration) {
    tokio::time::sleep(duration).await;
}
