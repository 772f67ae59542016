//! The cases, compiled against `storage::asynchronous`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::FeedSeen;
use maybe_async::must_be_async as maybe;
use storage::asynchronous::{LiveConfig, Storage, Watcher};
use storage_macros::test_async as maybe_test;

const MODE: &str = "async";

/// A task calling `introspect_access_token(jti)` until `stop`; yields the slowest call.
fn probe_latency(
    storage: Storage,
    jti: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Duration> {
    tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let _ = storage.introspect_access_token(&jti).await;
            worst = worst.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        worst
    })
}

async fn join_probe(probe: tokio::task::JoinHandle<Duration>) -> Duration {
    probe.await.expect("probe task")
}

/// A watcher followed on a task of its own.
type FeedFollower = tokio::task::JoinHandle<Result<FeedSeen, String>>;

/// A task following `watcher` until it reaches `until` (see `cases::follow_until`).
fn follow_feed(watcher: Watcher, until: Arc<AtomicU64>) -> FeedFollower {
    tokio::spawn(cases::follow_until(watcher, until))
}

async fn join_feed(follower: FeedFollower) -> Result<FeedSeen, String> {
    follower.await.expect("feed task")
}

#[path = "cases.rs"]
mod cases;
