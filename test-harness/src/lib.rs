//! What every test, the demo and the benchmarks need besides the storage itself, in one
//! place, the way redis-rs keeps its `tests/support`.
//!
//! - [`RedisServer`]: a throwaway `redis-server` on a free loopback port, with no
//!   persistence, stopped when dropped or when the process that started it dies. Plain,
//!   password-protected, TLS-only, or a sentinel.
//! - [`RedisCluster`] and [`SentinelGroup`]: the topologies beyond one server, from the same
//!   launcher, for tests that need a cluster or a failover; [`Deployment`] is whichever of
//!   the three a test run uses (`GW_TEST_TOPOLOGY`), with a [`RawConnection`] to its data.
//! - [`fixtures`]: the records the existing deployment wrote, byte for byte, from
//!   `fixtures/legacy-records.jsonl` at the top of the repository.
//! - [`legacy`]: a writer that writes exactly as the old storage layer did, and what its
//!   readers refuse.
//!
//! Dev-only: nothing in the `storage` crate depends on it.

#![recursion_limit = "256"]

mod deployment;
pub mod fixtures;
pub mod legacy;
mod server;
mod topology;

pub use deployment::{Deployment, RawConnection, TOPOLOGY_VARIABLE};
pub use server::{RedisServer, ServerOptions, INSTALL_HINT};
pub use topology::{RedisCluster, SentinelGroup, MASTER_NAME};
