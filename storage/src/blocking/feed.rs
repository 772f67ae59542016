//! The blocking mode's connection for the change feed: one of its own, outside the pool,
//! because an `XREAD BLOCK` holds its connection for as long as it waits.

use std::time::Duration;

use redis::{Cmd, FromRedisValue};

use crate::config::StorageConfig;
use crate::error::Result;

/// A connection that waits on the change feed; it reconnects on the next read after a
/// failure.
pub(super) struct FeedConnection {
    client: redis::Client,
    config: StorageConfig,
    connection: Option<redis::Connection>,
}

impl FeedConnection {
    pub(super) fn new(config: &StorageConfig) -> Result<Self> {
        Ok(FeedConnection {
            client: config.url.client()?,
            config: config.clone(),
            connection: None,
        })
    }

    /// Runs `cmd`, which may block Redis-side for up to `block`.
    pub(super) fn query<T: FromRedisValue>(&mut self, cmd: &Cmd, block: Duration) -> Result<T> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => {
                let connection = self
                    .client
                    .get_connection_with_timeout(self.config.connect_timeout)?;
                connection.set_read_timeout(Some(block + self.config.response_timeout))?;
                self.connection.insert(connection)
            }
        };
        let result = cmd.query(connection);
        if result.is_err() {
            self.connection = None;
        }
        Ok(result?)
    }
}
