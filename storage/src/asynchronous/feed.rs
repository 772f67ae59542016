//! The async mode's connection for the change feed: one of its own, because an `XREAD
//! BLOCK` would hold up every other command on the shared multiplexed connection, and needs
//! a response timeout longer than its wait.

use std::time::Duration;

use redis::{AsyncConnectionConfig, Cmd, FromRedisValue};

use crate::config::StorageConfig;
use crate::error::Result;

/// A connection that waits on the change feed; it reconnects on the next read after a
/// failure.
pub(super) struct FeedConnection {
    client: redis::Client,
    config: StorageConfig,
    connection: Option<redis::aio::MultiplexedConnection>,
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
    pub(super) async fn query<T: FromRedisValue>(
        &mut self,
        cmd: &Cmd,
        block: Duration,
    ) -> Result<T> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => {
                let settings = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.config.connect_timeout))
                    .set_response_timeout(Some(block + self.config.response_timeout));
                let connection = self
                    .client
                    .get_multiplexed_async_connection_with_config(&settings)
                    .await?;
                self.connection.insert(connection)
            }
        };
        let result = cmd.query_async(connection).await;
        if result.is_err() {
            self.connection = None;
        }
        Ok(result?)
    }
}
