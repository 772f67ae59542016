//! The connection for the change feed: one of its own, because an `XREAD BLOCK` holds its
//! connection (in the async mode, the whole multiplexed connection) for as long as it
//! waits, and needs a response timeout longer than its wait.

use std::sync::Arc;
use std::time::Duration;

use redis::{Cmd, FromRedisValue};

use super::connection::decode;
use super::{maybe, Endpoint, Link};
use crate::commands::Call;
use crate::error::{Error, Result};
use crate::retry::{needs_new_connection, Deadline};
use crate::telemetry::Telemetry;
use crate::topology::ConnectionSettings;

/// Why a read of the feed failed.
#[derive(Debug)]
pub(super) enum FeedFailure {
    /// No connection could be opened (Redis down, the sentinels between masters, a
    /// cluster re-electing) or the one there broke or reached a demoted node: a new one may
    /// do, so the watcher tries again and rides through a failover.
    Lost(Error),
    /// Redis answered with an error no new connection cures.
    Refused(Error),
}

/// A connection that waits on the change feed; it reconnects (through Sentinel, to the
/// master of now) on the next read after a failure.
pub(super) struct FeedConnection {
    settings: ConnectionSettings,
    endpoint: Option<Endpoint>,
    connection: Option<Link>,
    telemetry: Arc<Telemetry>,
}

impl FeedConnection {
    pub(super) fn new(settings: &ConnectionSettings, telemetry: &Arc<Telemetry>) -> Self {
        FeedConnection {
            settings: settings.clone(),
            endpoint: None,
            connection: None,
            telemetry: Arc::clone(telemetry),
        }
    }

    /// Runs `cmd`, which may block Redis-side for up to `block`.
    #[maybe]
    pub(super) async fn query<T: FromRedisValue>(
        &mut self,
        cmd: &Cmd,
        block: Duration,
    ) -> Result<T, FeedFailure> {
        let timeout = block + self.settings.response_timeout;
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => {
                let endpoint = match &mut self.endpoint {
                    Some(endpoint) => endpoint,
                    None => self.endpoint.insert(
                        Endpoint::new(&self.settings, timeout).map_err(FeedFailure::Refused)?,
                    ),
                };
                let opened = endpoint
                    .open(self.settings.connect_timeout, timeout, &self.telemetry)
                    .await;
                let connection = opened.map_err(|error| {
                    // Wrong credentials stay wrong on every master, and a runtime's missing
                    // driver stays missing.
                    if error.is_auth_error() || matches!(error, Error::Runtime { .. }) {
                        FeedFailure::Refused(error)
                    } else {
                        FeedFailure::Lost(error)
                    }
                })?;
                self.connection.insert(connection)
            }
        };
        match connection
            .query(Call::Cmd(cmd), timeout, Deadline::after(timeout))
            .await
        {
            Ok(reply) => decode(reply).map_err(FeedFailure::Refused),
            Err(error) => {
                self.connection = None;
                if needs_new_connection(&error) {
                    Err(FeedFailure::Lost(error.into()))
                } else {
                    Err(FeedFailure::Refused(error.into()))
                }
            }
        }
    }
}
