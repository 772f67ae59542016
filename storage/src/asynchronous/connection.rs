//! The async mode's connection: one multiplexed connection (or async cluster connection),
//! shared by every task using the storage.
//!
//! A connection that broke or reached a demoted master is given up by the first task that
//! sees it, and the next call opens another to whichever node is master then; when to retry
//! is decided once for both modes, in `shared/connection.rs`. redis-rs' `ConnectionManager`
//! is not used: it reconnects to the address it started with, which after a failover is a
//! replica or dead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::link::{Endpoint, Link};
use crate::config::StorageConfig;
use crate::error::{Error, Result};

/// The connection shared by every task using the storage.
pub(super) struct Connection {
    endpoint: Endpoint,
    config: StorageConfig,
    current: Mutex<Option<Link>>,
    // Held while opening, so that many tasks meeting a broken connection open one new one.
    opening: tokio::sync::Mutex<u64>,
    // Connection failures seen: after one, a new connection opens, maybe to a Redis that
    // restarted empty or to a new master.
    failures: AtomicU64,
}

impl Connection {
    /// Prepares the connection without opening it: opening needs the caller's runtime.
    pub(super) fn new(config: &StorageConfig) -> Result<Self> {
        Ok(Connection {
            endpoint: Endpoint::new(config, config.response_timeout)?,
            config: config.clone(),
            current: Mutex::new(None),
            opening: tokio::sync::Mutex::new(0),
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

    fn current(&self) -> Option<Link> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The shared connection, opened if there is none.
    pub(super) async fn take(&self) -> Result<Link> {
        if let Some(link) = self.current() {
            return Ok(link);
        }
        let mut generation = self.opening.lock().await;
        if let Some(link) = self.current() {
            return Ok(link);
        }
        *generation += 1;
        let link = self
            .endpoint
            .open(
                self.config.connect_timeout,
                self.config.response_timeout,
                *generation,
            )
            .await
            .map_err(|e| {
                self.failed();
                Error::from(e)
            })?;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(link.clone());
        Ok(link)
    }

    /// Ends a call's use of the connection: a broken one is given up, unless it was
    /// replaced already.
    pub(super) fn give_back(&self, link: Link) {
        if !link.broken {
            return;
        }
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().map(|c| c.generation) == Some(link.generation) {
            *current = None;
        }
    }
}
