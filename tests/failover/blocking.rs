//! The cases, compiled against `storage::blocking`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::FeedSeen;
use maybe_async::must_be_sync as maybe;
use storage::blocking::{LiveConfig, Storage, Watcher};
use storage_macros::test_blocking as maybe_test;

const MODE: &str = "blocking";

/// A thread calling `introspect_access_token(jti)` until `stop`; yields the slowest call.
fn probe_latency(
    storage: Storage,
    jti: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Duration> {
    std::thread::spawn(move || {
        let mut worst = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let _ = storage.introspect_access_token(&jti);
            worst = worst.max(started.elapsed());
            std::thread::sleep(Duration::from_millis(5));
        }
        worst
    })
}

fn join_probe(probe: std::thread::JoinHandle<Duration>) -> Duration {
    probe.join().expect("probe thread")
}

/// A watcher followed on a thread of its own.
type FeedFollower = std::thread::JoinHandle<Result<FeedSeen, String>>;

/// A thread following `watcher` until it reaches `until` (see `cases::follow_until`).
fn follow_feed(watcher: Watcher, until: Arc<AtomicU64>) -> FeedFollower {
    std::thread::spawn(move || cases::follow_until(watcher, until))
}

fn join_feed(follower: FeedFollower) -> Result<FeedSeen, String> {
    follower.join().expect("feed thread")
}

#[path = "cases.rs"]
mod cases;
