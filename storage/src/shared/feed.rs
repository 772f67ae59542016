//! The connection for the change feed: one of its own, because an `XREAD BLOCK` holds its
//! connection (in the async mode, the whole multiplexed connection) for as long as it
//! waits, and needs a response timeout longer than its wait.

use std::time::Duration;

use redis::{Cmd, FromRedisValue};

use super::connection::decode;
use super::{maybe, Endpoint, Link};
use crate::commands::Call;
use crate::config::StorageConfig;
use crate::error::Result;

/// A connection that waits on the change feed; it reconnects (through Sentinel, to the
/// master of now) on the next read after a failure.
pub(super) struct FeedConnection {
    config: StorageConfig,
    endpoint: Option<Endpoint>,
    connection: Option<Link>,
}

impl FeedConnection {
    pub(super) fn new(config: &StorageConfig) -> Self {
        FeedConnection {
            config: config.clone(),
            endpoint: None,
            connection: None,
        }
    }

    /// Runs `cmd`, which may block Redis-side for up to `block`.
    #[maybe]
    pub(super) async fn query<T: FromRedisValue>(
        &mut self,
        cmd: &Cmd,
        block: Duration,
    ) -> Result<T> {
        let timeout = block + self.config.response_timeout;
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => {
                let endpoint = match &mut self.endpoint {
                    Some(endpoint) => endpoint,
                    None => self.endpoint.insert(Endpoint::new(&self.config, timeout)?),
                };
                let connection = endpoint.open(self.config.connect_timeout, timeout).await?;
                self.connection.insert(connection)
            }
        };
        let result = connection.query(Call::Cmd(cmd), timeout).await;
        if result.is_err() {
            self.connection = None;
        }
        decode(result?)
    }
}
