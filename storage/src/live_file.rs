//! The live configuration's last-known-good file on disk: read back once at start, and
//! rewritten by a thread of its own after changes, debounced, so a burst of writes costs
//! one write and no follower (thread or async task) ever waits for the disk.
//!
//! What the file holds and how it is checked is `model/snapshot_file.rs`; here is only the
//! I/O. A write goes to a temporary file beside it (mode 0600), is `fsync`ed and renamed over
//! the old one, and the directory is `fsync`ed, so a crash leaves the old file or the new
//! one, never a mix. A file that cannot be served is named in a warning and left as it is.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};
use crate::live::LiveState;
use crate::model::snapshot_file::{self, SavedSnapshot};
use crate::model::ConfigSnapshot;

/// One storage's file: where it is, and which store it is written for.
pub(crate) struct SnapshotFile {
    path: PathBuf,
    store: String,
}

impl SnapshotFile {
    pub(crate) fn new(path: PathBuf, store: String) -> Self {
        SnapshotFile { path, store }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The snapshot the file holds, if it is there; a file that does not fit this store is
    /// [`Error::SnapshotFile`] with the reason, named in a warning too, and left alone.
    pub(crate) fn load(&self) -> Result<Option<SavedSnapshot>> {
        let path = self.path.display();
        let refused = |reason: String| {
            tracing::warn!(file = %path, %reason, "live configuration file not served");
            Error::SnapshotFile {
                path: path.to_string(),
                reason,
            }
        };
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(refused(format!("it cannot be read: {error}"))),
        };
        snapshot_file::decode(&bytes, &self.store)
            .map(Some)
            .map_err(refused)
    }

    /// Writes `snapshot`, read in `epoch`, atomically.
    pub(crate) fn save(&self, snapshot: &ConfigSnapshot, epoch: Option<&str>) -> Result<()> {
        let bytes = snapshot_file::encode(snapshot, &self.store, epoch, SystemTime::now());
        self.write_atomically(&bytes)
            .map_err(|error| Error::SnapshotFile {
                path: self.path.display().to_string(),
                reason: error.to_string(),
            })
    }

    fn write_atomically(&self, bytes: &[u8]) -> io::Result<()> {
        let name = self
            .path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        let mut temporary = self.path.clone();
        temporary.set_file_name(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temporary, &self.path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written?;
        let directory = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(directory)?.sync_all()
    }
}

/// Starts the thread that rewrites `file` after `state` changes: at most once per
/// `debounce`, and only with a snapshot read from Redis. It ends when `state` is dropped.
/// Returns what the follower tells it through.
pub(crate) fn start_writer(
    file: Arc<SnapshotFile>,
    state: Weak<LiveState>,
    debounce: Duration,
) -> Sender<()> {
    let (changed, changes) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("storage-live-file".to_owned())
        .spawn(move || write_after_changes(&file, &state, &changes, debounce));
    if let Err(error) = spawned {
        tracing::error!(%error, "no live configuration file writer");
    }
    changed
}

fn write_after_changes(
    file: &SnapshotFile,
    state: &Weak<LiveState>,
    changes: &Receiver<()>,
    debounce: Duration,
) {
    let mut written = None;
    while changes.recv().is_ok() {
        // The rest of the burst, until `debounce` after its first change.
        let until = Instant::now() + debounce;
        let mut open = true;
        while open {
            match changes.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(()) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }
        let Some(state) = state.upgrade() else {
            return;
        };
        let snapshot = state.current.load_full();
        if state.stale_file().is_none() && written != Some(snapshot.revision()) {
            match file.save(&snapshot, state.epoch().as_deref()) {
                Ok(()) => written = Some(snapshot.revision()),
                Err(error) => tracing::warn!(%error, "live configuration file not written"),
            }
        }
        if !open {
            return;
        }
    }
}
