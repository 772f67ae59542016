//! The live configuration's last-known-good file, without I/O: what it holds and how it is
//! checked, so that a gateway whose Redis is away at boot can route from the last snapshot
//! it saw, and never from a file that is damaged, of another format or another store's.
//!
//! The file is one header line of JSON and then the body, the proxies and enabled routes as
//! JSON. The header carries the format version, the store's identity (its address, database
//! and key prefix; never a credential), the snapshot's revision and the feed epoch it was
//! read in, when it was written, and the body's SHA-256. Certificates are not in it, so no
//! private key is either.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ConfigSnapshot, ProxyTarget, Route};

/// The format this crate writes and reads; a file of another is never served.
pub(crate) const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    store: String,
    revision: u64,
    epoch: Option<String>,
    written_at_ms: u64,
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Body {
    proxies: Vec<ProxyTarget>,
    routes: Vec<Route>,
}

/// A file read back and checked.
pub(crate) struct SavedSnapshot {
    pub(crate) snapshot: ConfigSnapshot,
    /// The feed epoch it was read in: catching up from the feed is only sound in the same.
    pub(crate) epoch: Option<String>,
    pub(crate) written_at: SystemTime,
}

/// The file's bytes for `snapshot` of `store`, read in `epoch`, written `at`.
pub(crate) fn encode(
    snapshot: &ConfigSnapshot,
    store: &str,
    epoch: Option<&str>,
    at: SystemTime,
) -> Vec<u8> {
    let body = Body {
        proxies: snapshot.proxies().cloned().collect(),
        routes: snapshot.routes().cloned().collect(),
    };
    let body = serde_json::to_vec(&body).expect("proxies and routes serialize");
    let header = Header {
        format: FORMAT_VERSION,
        store: store.to_owned(),
        revision: snapshot.revision(),
        epoch: epoch.map(str::to_owned),
        written_at_ms: at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        sha256: hex_sha256(&body),
    };
    let mut bytes = serde_json::to_vec(&header).expect("a header serializes");
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    bytes
}

/// The snapshot in `bytes`, if it is a whole file of this format written for `store`; else
/// why not, in words for an operator (never the file's content).
pub(crate) fn decode(bytes: &[u8], store: &str) -> Result<SavedSnapshot, String> {
    let split = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("it has no header line")?;
    let (header, body) = (&bytes[..split], &bytes[split + 1..]);
    let header: Header =
        serde_json::from_slice(header).map_err(|_| "its header is not this crate's".to_owned())?;
    if header.format != FORMAT_VERSION {
        return Err(format!(
            "it is of format {}, this version reads {FORMAT_VERSION}",
            header.format
        ));
    }
    if header.store != store {
        return Err(format!(
            "it was written for another store ({}), not {store}",
            header.store
        ));
    }
    if hex_sha256(body) != header.sha256 {
        return Err("its checksum does not match: it is damaged or cut short".to_owned());
    }
    let body: Body =
        serde_json::from_slice(body).map_err(|e| format!("its body does not decode: {e}"))?;
    Ok(SavedSnapshot {
        snapshot: ConfigSnapshot::new(header.revision, body.proxies, body.routes),
        epoch: header.epoch,
        written_at: UNIX_EPOCH + Duration::from_millis(header.written_at_ms),
    })
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> ConfigSnapshot {
        ConfigSnapshot::new(
            7,
            vec![ProxyTarget::new("a.example", "http://a:1")],
            vec![Route::to_url("r", "/api", 50, "http://b:1")],
        )
    }

    #[test]
    fn a_file_reads_back_as_the_snapshot_it_was_written_from() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let written = snapshot();
        let bytes = encode(&written, "redis://h:1/0 gw:", Some("1.2"), at);
        let saved = decode(&bytes, "redis://h:1/0 gw:").unwrap();
        assert_eq!(saved.snapshot.revision(), 7);
        assert_eq!(
            saved.snapshot.proxy("a.example"),
            written.proxy("a.example")
        );
        assert_eq!(
            saved
                .snapshot
                .route_for("a.example", "/api/x")
                .map(|r| &r.route_id),
            Some(&"r".to_owned())
        );
        assert_eq!(saved.epoch.as_deref(), Some("1.2"));
        assert_eq!(saved.written_at, at);
    }

    #[test]
    fn a_damaged_foreign_or_newer_file_is_refused_with_its_reason() {
        let bytes = encode(&snapshot(), "one", None, SystemTime::now());
        let reason = decode(&bytes, "two").err().unwrap();
        assert!(reason.contains("another store"), "{reason}");

        let mut cut = bytes.clone();
        cut.truncate(bytes.len() - 3);
        let reason = decode(&cut, "one").err().unwrap();
        assert!(reason.contains("checksum"), "{reason}");

        let mut flipped = bytes.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 1;
        assert!(decode(&flipped, "one").is_err());

        let newer =
            String::from_utf8(bytes.clone())
                .unwrap()
                .replacen("\"format\":1", "\"format\":2", 1);
        let reason = decode(newer.as_bytes(), "one").err().unwrap();
        assert!(reason.contains("format 2"), "{reason}");

        assert!(decode(b"garbage", "one").is_err());
        assert!(decode(b"", "one").is_err());
        assert!(decode(b"{}\n{}", "one").is_err());
    }
}
