//! The async mode's connection: one multiplexed, auto-reconnecting `ConnectionManager`,
//! shared by every task using the storage.
//!
//! A command whose connection turned out to be dead before it answered (Redis restarted, or
//! dropped an idle client) is retried after the manager reconnects. The runners here have
//! the same names and signatures as the blocking mode's, plus `async`, so everything that
//! calls them is written once.

use std::sync::atomic::{AtomicU64, Ordering};

use redis::{Cmd, FromRedisValue, Pipeline, ScriptInvocation};

use crate::config::StorageConfig;
use crate::error::{Error, Result};

/// One multiplexed, auto-reconnecting connection, shared by every task using the storage.
pub(super) struct Connection {
    client: redis::Client,
    config: redis::aio::ConnectionManagerConfig,
    // Created on first use, inside the caller's runtime, so `Storage::new` needs none.
    manager: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    // Connection failures seen: after one, the manager reconnects, maybe to a Redis that
    // restarted empty.
    failures: AtomicU64,
}

/// Commands retried after the manager reconnects.
const RECONNECT_ATTEMPTS: u32 = 2;

impl Connection {
    /// Prepares the connection without opening it.
    pub(super) fn new(config: &StorageConfig) -> Result<Self> {
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.response_timeout))
            // One attempt per connect, so `connect_timeout` is the whole wait, as in the
            // blocking mode; commands on a dropped connection are retried below.
            .set_number_of_retries(0);
        Ok(Connection {
            client: config.url.client()?,
            config: manager_config,
            manager: tokio::sync::OnceCell::new(),
            failures: AtomicU64::new(0),
        })
    }

    /// How many connection failures were seen so far: after each the manager reconnects, and
    /// a reconnection may reach a Redis that restarted empty, so the storage checks its
    /// defaults when this changes.
    pub(super) fn epoch(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
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
            let result = run(self.manager().await?).await;
            if let Err(e) = &result {
                if e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal() {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            match result {
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
