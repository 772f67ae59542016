//! Test cases written once: `#[maybe]` and `.await` are stripped in the blocking copy.

use super::{concurrently, maybe, maybe_test, pause, LiveConfig, Storage, Watcher};
use crate::harness;
use storage::StorageConfig;

mod acme;
mod auth_configs;
mod backup;
mod certificates;
mod concurrency;
mod connection;
mod deadlines;
mod fixtures;
mod history;
mod hostile;
mod initialization;
mod live;
mod live_file;
mod locks;
mod migration;
mod oauth;
mod observability;
mod proxies;
mod routes;
mod topology;

/// A connected, initialized storage on the shared server, under a prefix of its own.
#[maybe]
async fn storage(test: &str) -> Storage {
    connect(harness::config(test)).await
}

#[maybe]
async fn connect(config: StorageConfig) -> Storage {
    Storage::connect(config)
        .await
        .expect("connect to the test server")
}
