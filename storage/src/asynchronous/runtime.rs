//! What the async mode waits with: tokio's mutex for initialization, and tokio's sleep;
//! and what it needs of the thread it runs on: a tokio runtime with its IO and time
//! drivers, which redis-rs' connections use (without them it panics deep inside).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};

fn missing(reason: &str) -> Error {
    Error::Runtime {
        reason: reason.to_owned(),
    }
}

/// Whether this thread can make a call: a tokio runtime must be running on it. A
/// thread-local read, cheap enough for every call.
pub(super) fn check_runtime() -> Result<()> {
    tokio::runtime::Handle::try_current()
        .map(drop)
        .map_err(|_| {
            missing(
                "no tokio runtime runs on this thread: call the async API from within one \
             (#[tokio::main], Runtime::block_on), or use storage::blocking",
            )
        })
}

/// Whether the runtime can open a connection: it needs the time and IO drivers. Checked
/// before each connection is opened (rarely), by asking tokio for a timer and a socket,
/// which it refuses by panicking.
pub(super) fn check_drivers() -> Result<()> {
    check_runtime()?;
    let time = catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO)));
    if time.is_err() {
        return Err(missing(
            "the tokio runtime has no time driver: build it with enable_time() or enable_all()",
        ));
    }
    let io = catch_unwind(AssertUnwindSafe(|| {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        tokio::net::UdpSocket::from_std(socket).map(drop)
    }));
    if io.is_err() {
        return Err(missing(
            "the tokio runtime has no IO driver: build it with enable_io() or enable_all()",
        ));
    }
    Ok(())
}

/// Serializes initialization within one `Storage`.
pub(super) type InitLock = Mutex<()>;

/// Takes the initialization lock, yielding to the runtime while another task holds it.
pub(super) async fn lock_init(lock: &InitLock) -> MutexGuard<'_, ()> {
    lock.lock().await
}

/// Takes the initialization lock if no task holds it.
pub(super) fn try_lock_init(lock: &InitLock) -> Option<MutexGuard<'_, ()>> {
    lock.try_lock().ok()
}

/// Waits without holding a connection: the task yields to the runtime.
pub(super) async fn pause(duration: Duration) {
    tokio::time::sleep(duration).await;
}
