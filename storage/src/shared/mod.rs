//! The storage, written once and compiled twice.
//!
//! `blocking.rs` and `asynchronous.rs` both include this directory with `#[path]`, each after
//! importing its own meaning of `maybe` (`must_be_sync` or `must_be_async`) and of the
//! `blocking_only` / `async_only` attributes. Functions here are written `#[maybe] async fn`
//! with `.await`; the blocking copy has both stripped. The only per-mode items are the
//! command runners in `connection.rs`. Logic does not live here: it is in the pure modules
//! (`model`, `keys`, `commands`, `seed`), so both copies only build, run and decode.

use super::{async_only, blocking_only, maybe, MODE};

mod acme;
mod auth_configs;
mod certificates;
mod connection;
mod locks;
mod oauth;
mod proxies;
mod routes;
mod seeding;
mod storage;

pub use locks::LockGuard;
pub use storage::Storage;
