//! An async live configuration is followed by a task on the current tokio runtime, aborted
//! when the `LiveConfig` is dropped.

use std::sync::Arc;

use super::shared::follow;
use super::Storage;
use crate::live::{Following, LiveState};

/// Aborts the follower task when dropped.
pub(super) struct Follower {
    state: Arc<LiveState>,
    task: tokio::task::AbortHandle,
}

impl Follower {
    pub(super) fn start(storage: Storage, state: Arc<LiveState>) -> Self {
        let following = Following::of(&state);
        let task = tokio::spawn(follow(storage, following)).abort_handle();
        Follower { state, task }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.state.stop();
        self.task.abort();
    }
}
