//! Integration tests against a real `redis-server`, written once in `cases/` and compiled
//! into each enabled mode, the way the storage itself is.

#![allow(
    clippy::duplicate_mod,
    reason = "cases/ is compiled once per mode on purpose, like the storage itself"
)]

#[cfg(any(feature = "blocking", feature = "async"))]
mod harness;

#[cfg(feature = "async")]
mod asynchronous;
#[cfg(feature = "blocking")]
mod blocking;
#[cfg(all(feature = "blocking", feature = "async"))]
mod both_modes;
