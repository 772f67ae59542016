//! An async watcher is a `Stream`, for `while let Some(event) = stream.next().await` and the
//! stream combinators.
//!
//! ```no_run
//! use futures_util::StreamExt;
//!
//! # async fn run() -> storage::Result<()> {
//! let storage = storage::asynchronous::Storage::connect("redis://127.0.0.1:6379").await?;
//! let routes = storage.list_routes().await?;
//! let mut changes = Box::pin(storage.watch(routes.revision).await?.into_stream());
//! while let Some(event) = changes.next().await {
//!     println!("{:?}", event?);
//! }
//! # Ok(())
//! # }
//! ```

use futures_util::Stream;

use super::Watcher;
use crate::error::Result;
use crate::model::WatchEvent;

impl Watcher {
    /// The watcher as a stream of events; it never ends by itself.
    pub fn into_stream(self) -> impl Stream<Item = Result<WatchEvent>> + Send {
        futures_util::stream::unfold(self, |mut watcher| async move {
            let event = watcher.next_event().await;
            Some((event, watcher))
        })
    }
}
