//! The blocking mode's connections: a pool of redis' sync connections (or sync cluster
//! connections), shared by every thread using the storage.
//!
//! A connection that broke or reached a demoted master is dropped when it comes back, and
//! its replacement opens to whichever node is master then; when to retry is decided once for
//! both modes, in `shared/connection.rs`. The pool is a plain list of idle connections:
//! r2d2's reconnect backoff (200 ms, doubling) would outlast the last half second of a
//! failover, and its errors hide why a connection could not be opened.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::link::{Endpoint, Link};
use crate::config::StorageConfig;
use crate::error::{Error, Result};

/// Connections shared by every thread using the storage.
pub(super) struct Connection {
    endpoint: Endpoint,
    config: StorageConfig,
    idle: Mutex<Vec<Link>>,
    // Connection failures seen: after one, a new connection opens, maybe to a Redis that
    // restarted empty or to a new master.
    failures: AtomicU64,
}

impl Connection {
    /// Prepares the connections without opening any; they open on first use.
    pub(super) fn new(config: &StorageConfig) -> Result<Self> {
        Ok(Connection {
            endpoint: Endpoint::new(config, config.response_timeout)?,
            config: config.clone(),
            idle: Mutex::new(Vec::new()),
            failures: AtomicU64::new(0),
        })
    }

    pub(super) fn config(&self) -> &StorageConfig {
        &self.config
    }

    /// Whether this reaches a cluster, where multi-slot pipelines are cut by slot.
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self.endpoint, Endpoint::Cluster(_))
    }

    /// How many connection failures were seen so far: after each a new connection opens,
    /// which may reach a Redis that restarted empty, so the storage checks its defaults when
    /// this changes.
    pub(super) fn epoch(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Counts a connection failure.
    pub(super) fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// An idle connection, or a new one.
    pub(super) fn take(&self) -> Result<Link> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(link) => Ok(link),
            None => self
                .endpoint
                .open(self.config.connect_timeout, self.config.response_timeout)
                .map_err(|e| {
                    self.failed();
                    Error::from(e)
                }),
        }
    }

    /// Returns a connection to the pool, unless it broke or the pool is full.
    pub(super) fn give_back(&self, link: Link) {
        if link.broken || !redis::ConnectionLike::is_open(&link) {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.config.pool_size as usize {
            idle.push(link);
        }
    }
}
