//! The blocking mode's connections: an r2d2 pool of redis' sync connections, shared by
//! every thread using the storage.
//!
//! A command whose connection turned out to be dead before it answered (Redis restarted, or
//! dropped an idle client) is retried: the pool discards the broken connection and hands out
//! another. The runners here have the same names and signatures as the async mode's, minus
//! `async`, so everything that calls them is written once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use redis::{Cmd, FromRedisValue, Pipeline, ScriptInvocation};

use crate::config::StorageConfig;
use crate::error::{Error, Result};

/// Opens connections with the configured timeouts; r2d2 pools them.
#[derive(Debug)]
struct Manager {
    client: redis::Client,
    config: StorageConfig,
}

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

/// Keeps the last error r2d2 met while opening a connection: its own error only says that the
/// wait ran out, so without this a wrong password would read as a connection error.
#[derive(Clone, Debug, Default)]
struct LastConnectError(Arc<Mutex<Option<redis::RedisError>>>);

impl r2d2::HandleError<redis::RedisError> for LastConnectError {
    fn handle_error(&self, error: redis::RedisError) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
    }
}

/// A pool of blocking connections, shared by every thread using the storage.
pub(super) struct Connection {
    pool: r2d2::Pool<Manager>,
    reconnect_attempts: u32,
    last_connect_error: LastConnectError,
    // Connection failures seen: after one, the pool opens a new connection, maybe to a
    // Redis that restarted empty.
    failures: AtomicU64,
}

impl Connection {
    /// Builds the pool without connecting; connections open on first use.
    pub(super) fn new(config: &StorageConfig) -> Result<Self> {
        let manager = Manager {
            client: config.url.client()?,
            config: config.clone(),
        };
        let last_connect_error = LastConnectError::default();
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .connection_timeout(config.connect_timeout)
            // A PING per checkout would double the round trips; broken connections are
            // detected by their own errors instead (see `with_connection`).
            .test_on_check_out(false)
            .error_handler(Box::new(last_connect_error.clone()))
            .build_unchecked(manager);
        Ok(Connection {
            pool,
            reconnect_attempts: config.pool_size + 1,
            last_connect_error,
            failures: AtomicU64::new(0),
        })
    }

    /// How many connection failures were seen so far: after each the pool opens a new
    /// connection, which may reach a Redis that restarted empty, so the storage checks its
    /// defaults when this changes.
    pub(super) fn epoch(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn with_connection<T>(
        &self,
        run: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let mut attempt = 0;
        loop {
            let mut connection = self.pool.get().map_err(|timed_out| {
                self.failures.fetch_add(1, Ordering::Relaxed);
                self.connect_error(timed_out)
            })?;
            let result = run(&mut connection);
            if let Err(e) = &result {
                if e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal() {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            match result {
                Err(e) if e.is_connection_dropped() && attempt < self.reconnect_attempts => {
                    attempt += 1;
                }
                result => return result.map_err(Error::from),
            }
        }
    }

    /// Why no connection could be had within `connect_timeout`: what the last attempt met
    /// (refused credentials, a server that does not answer), as the async mode reports it.
    fn connect_error(&self, timed_out: r2d2::Error) -> Error {
        let last = self
            .last_connect_error
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match last.map(Error::from) {
            Some(
                error @ (Error::Auth { .. } | Error::Timeout { .. } | Error::Connection { .. }),
            ) => error,
            _ => Error::Connection {
                reason: timed_out.to_string(),
            },
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
