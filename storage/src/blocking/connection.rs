//! The blocking mode's connections: a pool of redis' sync connections (or sync cluster
//! connections), shared by every thread using the storage.
//!
//! A connection that broke or reached a demoted master is dropped when it comes back, and
//! its replacement opens to whichever node is master then; when to retry is decided once for
//! both modes, in `shared/connection.rs`. The pool is a plain list of idle connections:
//! r2d2's reconnect backoff (200 ms, doubling) would outlast the last half second of a
//! failover, and its errors hide why a connection could not be opened.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::link::Link;
use super::shared::Endpoint;
use crate::error::Result;
use crate::telemetry::Telemetry;
use crate::topology::ConnectionSettings;

/// The idle connections, each used by one thread at a time.
#[derive(Default)]
pub(super) struct Links {
    idle: Mutex<Vec<Link>>,
}

impl Links {
    /// An idle connection, or a new one opened within `connect_wait` (and counted in
    /// `telemetry` while it is open).
    pub(super) fn take(
        &self,
        endpoint: &Endpoint,
        settings: &ConnectionSettings,
        connect_wait: Duration,
        telemetry: &Arc<Telemetry>,
    ) -> Result<Link> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(link) => Ok(link),
            None => endpoint.open(connect_wait, settings.response_timeout, telemetry),
        }
    }

    /// Returns a connection to the pool, unless it broke or `pool_size` are idle already.
    pub(super) fn give_back(&self, link: Link, settings: &ConnectionSettings) {
        if link.broken || !redis::ConnectionLike::is_open(&link) {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < settings.pool_size as usize {
            idle.push(link);
        }
    }
}
