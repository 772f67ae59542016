//! Failovers with the storage kept across them: a sentinel-watched master and a cluster
//! master with a replica, each killed with SIGKILL under a steady stream of writes, in both
//! modes. Each case prints what it measured (the README's failover figures come from these
//! lines) and asserts what the storage promises: writes resume without the application
//! rebuilding anything, callers see only typed errors, no acknowledged write is lost when
//! writes wait for a replica, and calls to other masters do not stall past the response
//! timeout.

#![allow(
    clippy::duplicate_mod,
    reason = "cases.rs is compiled once per mode on purpose, like the storage itself"
)]

mod asynchronous;
mod blocking;

/// What a watcher kept through a failover saw: it must return no error.
#[derive(Debug, Default)]
struct FeedSeen {
    changes: usize,
    resyncs: usize,
}

/// How long a watcher may take to reach the last revision once the writes stopped.
const FEED_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(20);
