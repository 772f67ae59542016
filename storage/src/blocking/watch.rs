//! A blocking watcher is an iterator: the caller's thread waits on the feed, and owns the
//! loop and its errors (a callback thread would hide both, and a thread per watcher is the
//! caller's choice to make).
//!
//! ```no_run
//! # let storage = storage::blocking::Storage::connect("redis://127.0.0.1:6379")?;
//! let routes = storage.list_routes()?;
//! for event in storage.watch(routes.revision)? {
//!     match event? {
//!         storage::WatchEvent::Change(change) => println!("{change:?}"),
//!         storage::WatchEvent::Resync { .. } => { /* list again, watch from its revision */ }
//!     }
//! }
//! # Ok::<(), storage::Error>(())
//! ```

use super::Watcher;
use crate::error::Result;
use crate::model::WatchEvent;

impl Iterator for Watcher {
    type Item = Result<WatchEvent>;

    /// The next event, waiting for it; never `None`.
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_event())
    }
}
