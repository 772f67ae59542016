//! The async mode's connection: one multiplexed connection (or async cluster connection),
//! shared by every task using the storage.
//!
//! A connection that broke or reached a demoted master is given up by the first task that
//! sees it, and the next call opens another to whichever node is master then; when to retry
//! is decided once for both modes, in `shared/connection.rs`. redis-rs' `ConnectionManager`
//! is not used: it reconnects to the address it started with, which after a failover is a
//! replica or dead.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::link::Link;
use super::shared::Endpoint;
use crate::error::Result;
use crate::telemetry::Telemetry;
use crate::topology::ConnectionSettings;

/// The connection every task multiplexes over, once open.
#[derive(Default)]
pub(super) struct Links {
    current: Mutex<Option<Link>>,
    // Held while opening, so that many tasks meeting a broken connection open one new one;
    // counts the connections opened.
    opening: tokio::sync::Mutex<u64>,
}

impl Links {
    fn current(&self) -> Option<Link> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The shared connection, opened within `connect_wait` if there is none (and counted
    /// in `telemetry` while it is open).
    pub(super) async fn take(
        &self,
        endpoint: &Endpoint,
        settings: &ConnectionSettings,
        connect_wait: Duration,
        telemetry: &Arc<Telemetry>,
    ) -> Result<Link> {
        if let Some(link) = self.current() {
            return Ok(link);
        }
        let mut opened = self.opening.lock().await;
        if let Some(link) = self.current() {
            return Ok(link);
        }
        let mut link = endpoint
            .open(connect_wait, settings.response_timeout, telemetry)
            .await?;
        *opened += 1;
        link.generation = *opened;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(link.clone());
        Ok(link)
    }

    /// Ends a call's use of the connection: a broken one is given up, unless it was
    /// replaced already.
    pub(super) fn give_back(&self, link: Link, _settings: &ConnectionSettings) {
        if !link.broken {
            return;
        }
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().map(|c| c.generation) == Some(link.generation) {
            *current = None;
        }
    }
}
