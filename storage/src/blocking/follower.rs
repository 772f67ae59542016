//! A blocking live configuration is followed by a thread of its own, which stops within
//! half a second of the `LiveConfig` being dropped.

use std::sync::Arc;

use super::shared::follow;
use super::Storage;
use crate::live::{Following, LiveState};

/// Stops the follower thread when dropped.
pub(super) struct Follower {
    state: Arc<LiveState>,
}

impl Follower {
    pub(super) fn start(storage: Storage, state: Arc<LiveState>) -> Self {
        let following = Following::of(&state);
        std::thread::Builder::new()
            .name("storage-live-config".to_owned())
            .spawn(move || follow(storage, following))
            .map(drop)
            .unwrap_or_else(|error| tracing::error!(%error, "no follower thread"));
        Follower { state }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.state.stop();
    }
}
